/**
 * Exact reorientation: axis permutation and flips only, never interpolation, so that every voxel
 * value keeps its world position and the operation can be undone bit for bit (a MONAI-style
 * invertible transform: the forward call returns a record that `undoReorient` consumes).
 */
import { transformPoint, type Mat4 } from '../core/affine.js';
import {
  axisMapping,
  orientationCode,
  parseOrientationCode,
  type AxisMapping,
  type OrientationCode,
} from '../core/orientation.js';
import { allocate, dataTypeOf, type Dims3, type NiftiGeometry, type Volume, type VoxelArray } from '../core/volume.js';
import {
  checkDims,
  checkVolume,
  invalidArgument,
  metaOnNewGrid,
  stridesOf,
  type DataLayout,
  type Grid,
} from './grid.js';

export type Axes3<T> = [T, T, T];

/** Everything needed to map a reoriented volume (or anything computed on its grid) back exactly. */
export interface ReorientRecord {
  /** Orientation code of the input (nearest axes, so possibly of an oblique affine). */
  fromCode: OrientationCode;
  toCode: OrientationCode;
  /** New voxel axis n runs along original voxel axis permutation[n]. */
  permutation: Axes3<number>;
  /** Whether new axis n runs opposite to original axis permutation[n]. */
  flips: Axes3<boolean>;
  originalDims: Dims3;
  originalAffine: number[];
  reorientedDims: Dims3;
  /** The input's NIfTI geometry, put back by `undoReorient` so that outputs keep the exact qform/sform. */
  originalNifti?: NiftiGeometry;
}

export interface ReorientResult {
  volume: Volume;
  inverse: ReorientRecord;
}

/** The axis plan of a reorientation: how each new axis is taken from the original ones. */
export interface ReorientPlan {
  permutation: Axes3<number>;
  flips: Axes3<boolean>;
  dims: Dims3;
  affine: number[];
}

/**
 * Works out the permutation and flips that take `grid` to orientation `code` (any valid code, e.g.
 * "RAS", "LPS", "LIA"), and the resulting grid. Oblique affines use `axisMapping` (nearest world
 * axis per voxel axis, strongest alignments first), so the result is `code` on its nearest axes; another mapping (a slice
 * stack's, `sliceStackMapping`) says which world axis each voxel axis stands for instead.
 */
export function planReorientation(
  grid: Grid,
  code: OrientationCode,
  current: AxisMapping = axisMapping(grid.affine),
): ReorientPlan {
  checkDims(grid.dims, 'reorient');
  const target = parseOrientationCode(code);
  const permutation: Axes3<number> = [0, 0, 0];
  const flips: Axes3<boolean> = [false, false, false];
  for (let n = 0; n < 3; n++) {
    const source = current.worldAxis.indexOf(target.worldAxis[n]);
    if (source < 0)
      throw invalidArgument(`reorient: the affine has no voxel axis along world axis ${target.worldAxis[n]}`);
    permutation[n] = source;
    flips[n] = current.sign[source] !== target.sign[n];
  }
  const dims: Dims3 = [grid.dims[permutation[0]], grid.dims[permutation[1]], grid.dims[permutation[2]]];
  return { permutation, flips, dims, affine: reorientedAffine(grid, permutation, flips) };
}

/** Reorients a volume to `code`; the data are permuted and flipped, never interpolated. */
export function reorient(volume: Volume, code: OrientationCode, mapping?: AxisMapping): ReorientResult {
  checkVolume(volume, 'reorient');
  const plan = planReorientation(volume, code, mapping);
  const data = allocate(dataTypeOf(volume.data), volume.data.length);
  permuteAxes(volume.data, volume.dims, data, plan.permutation, plan.flips);
  return {
    volume: { dims: plan.dims, affine: plan.affine, data, meta: metaOnNewGrid(volume.meta) },
    inverse: reorientRecord(volume, code, plan),
  };
}

/**
 * The record `reorient(volume, code)` returns for `plan`, for callers that read the reoriented grid in
 * place (`reorientedLayout`) instead of copying the data into it.
 */
export function reorientRecord(volume: Volume, code: OrientationCode, plan: ReorientPlan): ReorientRecord {
  const inverse: ReorientRecord = {
    fromCode: orientationCode(volume.affine),
    toCode: code.toUpperCase(),
    permutation: plan.permutation,
    flips: plan.flips,
    originalDims: [volume.dims[0], volume.dims[1], volume.dims[2]],
    originalAffine: [...volume.affine],
    reorientedDims: plan.dims,
  };
  if (volume.meta.nifti) inverse.originalNifti = volume.meta.nifti;
  return inverse;
}

/**
 * Where the voxels of the reoriented grid lie in the original data: new axis n steps along original
 * axis permutation[n], backwards from its far end where flips[n].
 */
export function reorientedLayout(originalDims: Dims3, permutation: Axes3<number>, flips: Axes3<boolean>): DataLayout {
  const originalStrides = stridesOf(originalDims);
  const layout: DataLayout = { dims: [0, 0, 0], strides: [0, 0, 0], starts: [0, 0, 0] };
  for (let n = 0; n < 3; n++) {
    const axis = permutation[n];
    layout.dims[n] = originalDims[axis];
    layout.strides[n] = flips[n] ? -originalStrides[axis] : originalStrides[axis];
    layout.starts[n] = flips[n] ? (originalDims[axis] - 1) * originalStrides[axis] : 0;
  }
  return layout;
}

/**
 * Maps a volume on the reoriented grid (the reoriented volume itself, or e.g. a mask predicted on it)
 * back onto the original grid. The original affine is restored from the record, not recomputed, so
 * the round trip is exact in data and geometry.
 */
export function undoReorient(volume: Volume, record: ReorientRecord): Volume {
  checkVolume(volume, 'undoReorient');
  const expected = record.reorientedDims;
  if (volume.dims.some((d, n) => d !== expected[n])) {
    throw invalidArgument(
      `undoReorient: volume is ${volume.dims.join('x')} but the record is for a reoriented grid of ${expected.join('x')}`,
    );
  }
  const inversePermutation: Axes3<number> = [0, 0, 0];
  const inverseFlips: Axes3<boolean> = [false, false, false];
  for (let n = 0; n < 3; n++) {
    inversePermutation[record.permutation[n]] = n;
    inverseFlips[record.permutation[n]] = record.flips[n];
  }
  const data = allocate(dataTypeOf(volume.data), volume.data.length);
  permuteAxes(volume.data, volume.dims, data, inversePermutation, inverseFlips);
  const replacement = record.originalNifti ? { nifti: record.originalNifti } : undefined;
  return {
    dims: [record.originalDims[0], record.originalDims[1], record.originalDims[2]],
    affine: [...record.originalAffine],
    data,
    meta: metaOnNewGrid(volume.meta, replacement),
  };
}

/**
 * Column n of the new affine is +-column permutation[n] of the old one; the origin moves to the world
 * position of the old voxel that becomes new voxel (0, 0, 0).
 */
function reorientedAffine(grid: Grid, permutation: Axes3<number>, flips: Axes3<boolean>): number[] {
  const a: Mat4 = grid.affine;
  const oldVoxelAtNewOrigin = [0, 0, 0];
  for (let n = 0; n < 3; n++) if (flips[n]) oldVoxelAtNewOrigin[permutation[n]] = grid.dims[permutation[n]] - 1;
  const origin = transformPoint(a, oldVoxelAtNewOrigin);
  const out = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, a[12], a[13], a[14], a[15]];
  for (let row = 0; row < 3; row++) {
    for (let n = 0; n < 3; n++) {
      const value = a[row * 4 + permutation[n]];
      // 0 - value rather than -value keeps +0 for zero entries, so exact comparisons stay simple.
      out[row * 4 + n] = flips[n] ? 0 - value : value;
    }
    out[row * 4 + 3] = origin[row];
  }
  return out;
}

/**
 * Writes `src` (dims `srcDims`) into `dst` so that dst axis n runs along src axis permutation[n],
 * reversed where flips[n]. One pass in destination order; contiguous rows are block-copied.
 */
export function permuteAxes(
  src: VoxelArray,
  srcDims: Dims3,
  dst: VoxelArray,
  permutation: Axes3<number>,
  flips: Axes3<boolean>,
): void {
  const layout = reorientedLayout(srcDims, permutation, flips);
  const [n0, n1, n2] = layout.dims;
  const base = layout.starts[0] + layout.starts[1] + layout.starts[2];
  const [step0, step1, step2] = layout.strides;
  if (step0 === 1 && base === 0 && step1 === n0 && step2 === n0 * n1) {
    dst.set(src); // identity: nothing moves
    return;
  }
  if (step0 === 1 || step0 === -1) {
    copyRows(src, dst, base, n0, n1, n2, step1, step2, step0 === -1);
    return;
  }
  let out = 0;
  for (let a2 = 0; a2 < n2; a2++) {
    const plane = base + a2 * step2;
    for (let a1 = 0; a1 < n1; a1++) {
      let from = plane + a1 * step1;
      for (let a0 = 0; a0 < n0; a0++) {
        dst[out++] = src[from];
        from += step0;
      }
    }
  }
}

/**
 * The fast case of permuteAxes: the first axis stays first, so whole rows are block-copied (and
 * reversed in place when that axis is flipped), which is much faster than element by element.
 */
function copyRows(
  src: VoxelArray,
  dst: VoxelArray,
  base: number,
  n0: number,
  n1: number,
  n2: number,
  step1: number,
  step2: number,
  reversed: boolean,
): void {
  let out = 0;
  for (let a2 = 0; a2 < n2; a2++) {
    const plane = base + a2 * step2;
    for (let a1 = 0; a1 < n1; a1++) {
      const first = plane + a1 * step1;
      if (reversed) {
        dst.set(src.subarray(first - n0 + 1, first + 1), out);
        dst.subarray(out, out + n0).reverse();
      } else {
        dst.set(src.subarray(first, first + n0), out);
      }
      out += n0;
    }
  }
}
