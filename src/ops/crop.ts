/**
 * Cropping and padding to a voxel box, and bounding boxes of masks. The box may reach outside the
 * volume (padding); the affine keeps its direction columns and its origin moves to the world position
 * of the box's first voxel, so every kept voxel keeps its world position. Cropping back with the
 * negated start and the original dims (`uncropBox`) undoes a crop exactly.
 */
import { transformPoint } from '../core/affine.js';
import { allocate, dataTypeOf, type Dims3, type Volume, type VoxelArray } from '../core/volume.js';
import { boxSize, checkVolume, invalidArgument, metaOnNewGrid, type VoxelBox } from './grid.js';

/**
 * Copies the block of `size` voxels at `srcStart` in src to `dstStart` in dst, rows at a time.
 * The caller guarantees that the block lies inside both volumes.
 */
export function copyBlock(
  src: VoxelArray,
  srcDims: Dims3,
  srcStart: readonly number[],
  dst: VoxelArray,
  dstDims: Dims3,
  dstStart: readonly number[],
  size: readonly number[],
): void {
  const [w, h, d] = size;
  if (w <= 0 || h <= 0 || d <= 0) return;
  for (let k = 0; k < d; k++) {
    for (let j = 0; j < h; j++) {
      const from = srcStart[0] + srcDims[0] * (srcStart[1] + j + srcDims[1] * (srcStart[2] + k));
      const to = dstStart[0] + dstDims[0] * (dstStart[1] + j + dstDims[1] * (dstStart[2] + k));
      dst.set(src.subarray(from, from + w), to);
    }
  }
}

/**
 * The voxels of `box` (inclusive [i0, j0, k0, i1, j1, k1], may extend beyond the volume), with
 * `padValue` (default 0) where the box is outside the volume. Same data type; affine origin shifted.
 */
export function cropToBox(volume: Volume, box: VoxelBox, padValue = 0): Volume {
  checkVolume(volume, 'cropToBox');
  checkBox(box);
  const dims = boxSize(box);
  const data = allocate(dataTypeOf(volume.data), dims[0] * dims[1] * dims[2]);
  const start = [box[0], box[1], box[2]];
  const overlapStart = [0, 1, 2].map((a) => Math.max(start[a], 0));
  const overlapSize = [0, 1, 2].map((a) => Math.min(box[a + 3], volume.dims[a] - 1) - overlapStart[a] + 1);
  const fullyInside = overlapSize.every((s, a) => s === dims[a]);
  if (!fullyInside && padValue !== 0) data.fill(padValue);
  const dstStart = overlapStart.map((s, a) => s - start[a]);
  copyBlock(volume.data, volume.dims, overlapStart, data, dims, dstStart, overlapSize);
  return { ...cropGrid(volume, box), data };
}

/** The grid (dims, affine, meta) cropToBox gives the crop, without its voxels. */
export function cropGrid(volume: Omit<Volume, 'data'>, box: VoxelBox): Omit<Volume, 'data'> {
  checkBox(box);
  const affine = [...volume.affine];
  const origin = transformPoint(volume.affine, [box[0], box[1], box[2]]);
  affine[3] = origin[0];
  affine[7] = origin[1];
  affine[11] = origin[2];
  return { dims: boxSize(box), affine, meta: metaOnNewGrid(volume.meta) };
}

/**
 * The box that undoes `cropToBox(volume, box)`: cropping the cropped volume to it gives back a volume
 * on the original grid (the parts outside the crop become `padValue`).
 */
export function uncropBox(box: VoxelBox, originalDims: Dims3): VoxelBox {
  return [
    -box[0],
    -box[1],
    -box[2],
    originalDims[0] - 1 - box[0],
    originalDims[1] - 1 - box[1],
    originalDims[2] - 1 - box[2],
  ];
}

export interface BoundingBoxOptions {
  /** Voxels added on every side (one value or per axis), default 0. */
  margin?: number | [number, number, number];
  /** Keep the box inside the volume (default true); false lets the margin reach outside (pad on crop). */
  clamp?: boolean;
  /** Only voxels equal to this value count; by default every nonzero voxel does. */
  label?: number;
}

/** Inclusive box of the nonzero (or `label`) voxels plus a margin; null when there are none. */
export function boundingBox(volume: Volume, options: BoundingBoxOptions = {}): VoxelBox | null {
  checkVolume(volume, 'boundingBox');
  const box = tightBox(volume.data, volume.dims, options.label);
  if (!box) return null;
  const margin =
    typeof options.margin === 'number' || options.margin === undefined
      ? [options.margin ?? 0, options.margin ?? 0, options.margin ?? 0]
      : options.margin;
  const clamp = options.clamp ?? true;
  for (let a = 0; a < 3; a++) {
    box[a] -= margin[a];
    box[a + 3] += margin[a];
    if (clamp) {
      box[a] = Math.max(0, box[a]);
      box[a + 3] = Math.min(volume.dims[a] - 1, box[a + 3]);
    }
  }
  return box;
}

/**
 * Tight inclusive box of the voxels that are nonzero (or equal `label`). Rows are scanned from both
 * ends, so the cost is one read per voxel only in rows that hold no foreground.
 */
export function tightBox(data: VoxelArray, dims: Dims3, label?: number): VoxelBox | null {
  const [nx, ny, nz] = dims;
  const byValue = label !== undefined;
  const value = label ?? 0;
  let i0 = nx;
  let i1 = -1;
  let j0 = ny;
  let j1 = -1;
  let k0 = nz;
  let k1 = -1;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k);
      let first = -1;
      for (let i = 0; i < nx; i++) {
        const v = data[row + i];
        if (byValue ? v === value : v !== 0) {
          first = i;
          break;
        }
      }
      if (first < 0) continue;
      let last = first;
      for (let i = nx - 1; i > first; i--) {
        const v = data[row + i];
        if (byValue ? v === value : v !== 0) {
          last = i;
          break;
        }
      }
      if (first < i0) i0 = first;
      if (last > i1) i1 = last;
      if (j < j0) j0 = j;
      if (j > j1) j1 = j;
      if (k < k0) k0 = k;
      k1 = k;
    }
  }
  return i1 < 0 ? null : [i0, j0, k0, i1, j1, k1];
}

function checkBox(box: VoxelBox): void {
  if (box.length !== 6 || !box.every(Number.isInteger) || box[3] < box[0] || box[4] < box[1] || box[5] < box[2]) {
    throw invalidArgument(
      `crop: box [${box.join(', ')}] must be six integers [i0, j0, k0, i1, j1, k1] with i0 <= i1 etc.`,
    );
  }
}
