/**
 * Small geometry helpers shared by the volume operations: grids (dims + affine), strides, voxel
 * volume, argument checks and the metadata a volume keeps when it moves onto a new grid.
 */
import type { Mat4, Vec3 } from '../core/affine.js';
import { MedparseError } from '../core/errors.js';
import { voxelCount, type Dims3, type Volume, type VolumeMeta, type VoxelArray } from '../core/volume.js';

/** The geometry of a volume without its data: voxel dims and the voxel-to-world (RAS+ mm) affine. */
export interface Grid {
  dims: Dims3;
  affine: Mat4;
}

/** An inclusive voxel box [i0, j0, k0, i1, j1, k1]; used by crop, bounding boxes and statistics. */
export type VoxelBox = [number, number, number, number, number, number];

export function invalidArgument(message: string): MedparseError {
  return new MedparseError('INVALID_ARGUMENT', message);
}

/** A copy of a volume's grid, so that callers can change it without touching the volume. */
export function gridOf(grid: Grid): { dims: Dims3; affine: number[] } {
  return { dims: [grid.dims[0], grid.dims[1], grid.dims[2]], affine: [...grid.affine] };
}

/** Element offsets of one step along i, j and k. */
export function stridesOf(dims: Dims3): Vec3 {
  return [1, dims[0], dims[0] * dims[1]];
}

/**
 * Where a grid's voxels lie in a flat array: index n along axis a contributes starts[a] + n * strides[a],
 * and voxel (i, j, k) lies at the sum of its three axes' contributions. A volume's own data is
 * `plainLayout(dims)`; another layout reads a permuted and flipped grid straight from the data of the
 * volume it was taken from (a negative stride runs an axis backwards from its start), without a copy.
 */
export interface DataLayout {
  dims: Dims3;
  strides: Vec3;
  starts: Vec3;
}

/** The layout of a volume's own data: voxel (i, j, k) at i + dims[0] * (j + dims[1] * k). */
export function plainLayout(dims: Dims3): DataLayout {
  return { dims: [dims[0], dims[1], dims[2]], strides: stridesOf(dims), starts: [0, 0, 0] };
}

export function isPlainLayout(layout: DataLayout): boolean {
  const plain = stridesOf(layout.dims);
  return [0, 1, 2].every((a) => layout.starts[a] === 0 && layout.strides[a] === plain[a]);
}

/** Determinant of the affine's 3x3 part: signed voxel volume in mm^3. */
export function det3(m: Mat4): number {
  return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
}

export function voxelVolumeMm3(affine: Mat4): number {
  return Math.abs(det3(affine));
}

export function checkDims(dims: readonly number[], what: string): void {
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new MedparseError('INVALID_DIMENSIONS', `${what}: dims ${dims.join('x')} are not three positive integers`);
  }
}

/** Throws unless the volume's data length matches its dims (every op relies on it). */
export function checkVolume(volume: Volume, what: string): void {
  checkDims(volume.dims, what);
  if (volume.data.length !== voxelCount(volume.dims)) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `${what}: data has ${volume.data.length} voxels, dims ${volume.dims.join('x')} need ${voxelCount(volume.dims)}`,
    );
  }
}

/** Throws unless the two grids have the same dims (voxel-wise operations need one voxel per voxel). */
export function checkSameDims(a: Pick<Grid, 'dims'>, b: Pick<Grid, 'dims'>, what: string): void {
  if (a.dims[0] !== b.dims[0] || a.dims[1] !== b.dims[1] || a.dims[2] !== b.dims[2]) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `${what}: grids differ (${a.dims.join('x')} vs ${b.dims.join('x')}); resample one onto the other first`,
    );
  }
}

export function checkDataLength(data: VoxelArray, length: number, what: string): void {
  if (data.length !== length) {
    throw new MedparseError('INVALID_DIMENSIONS', `${what}: has ${data.length} voxels, the grid needs ${length}`);
  }
}

/**
 * Metadata for a volume that now lives on a different grid. The NIfTI qform/sform fields describe the
 * old grid exactly, so they are dropped (a writer re-derives them from the new affine); `replacement`
 * can put back the fields of the grid being returned to (e.g. when undoing a reorientation).
 */
export function metaOnNewGrid(meta: VolumeMeta, replacement?: Partial<VolumeMeta>): VolumeMeta {
  const rest: VolumeMeta = { ...meta };
  delete rest.nifti;
  return { ...rest, ...replacement };
}

/** A new volume on an explicit grid (dims and affine are copied, never shared). */
export function makeVolume(grid: Grid, data: VoxelArray, meta: VolumeMeta): Volume {
  return { dims: [grid.dims[0], grid.dims[1], grid.dims[2]], affine: [...grid.affine], data, meta };
}

/** The per-axis voxel counts of an inclusive box. */
export function boxSize(box: VoxelBox): Dims3 {
  return [box[3] - box[0] + 1, box[4] - box[1] + 1, box[5] - box[2] + 1];
}

/** The smallest box holding every given box; null when none is given. */
export function boxUnion(boxes: ReadonlyArray<VoxelBox | null | undefined>): VoxelBox | null {
  const present = boxes.filter((box): box is VoxelBox => !!box);
  if (!present.length) return null;
  const union = [...present[0]] as VoxelBox;
  for (const box of present.slice(1))
    for (let a = 0; a < 3; a++) {
      union[a] = Math.min(union[a], box[a]);
      union[a + 3] = Math.max(union[a + 3], box[a + 3]);
    }
  return union;
}

/** The voxels two boxes share, as a box; null when they share none (or either is absent). */
export function boxIntersection(a: VoxelBox | null | undefined, b: VoxelBox | null | undefined): VoxelBox | null {
  if (!a || !b) return null;
  const box: VoxelBox = [
    Math.max(a[0], b[0]),
    Math.max(a[1], b[1]),
    Math.max(a[2], b[2]),
    Math.min(a[3], b[3]),
    Math.min(a[4], b[4]),
    Math.min(a[5], b[5]),
  ];
  return box[0] <= box[3] && box[1] <= box[4] && box[2] <= box[5] ? box : null;
}
