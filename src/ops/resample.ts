/**
 * Resampling of volumes onto other grids: to a target spacing (same field of view) or onto an
 * arbitrary target grid (dims + affine), e.g. to bring a mask computed at working resolution back
 * onto the original image grid exactly.
 *
 * Conventions (shared with SimpleITK's interpolators):
 * - a target voxel maps to the continuous source voxel coordinate inverse(srcAffine) * targetAffine * v;
 * - it is inside the source when every coordinate lies in [-0.5, n - 0.5] (the source voxels' extent);
 *   coordinates in the outer half voxel are clamped to the edge voxel; outside voxels get `fill`;
 * - linear is trilinear on voxel centres, float32 out (no anti-aliasing when downsampling);
 * - nearest picks the voxel whose extent holds the point (ties at exact half-voxels go up) and keeps
 *   the source data type, so it never invents label values.
 * When the mapping is axis-aligned (any permutation/flip/scale/shift, as between grids sharing
 * direction cosines) per-axis index/weight tables are precomputed; otherwise each voxel is mapped.
 * The tables can also read a reoriented grid in place (`resampleReorientedToSpacing`), so the
 * inference preprocessing needs no reoriented copy of the whole input.
 */
import { SHEAR_COSINE, invert4, multiply4, voxelSizes, type Mat4, type Vec3 } from '../core/affine.js';
import { throttledProgress, type ProgressCallback } from '../core/progress.js';
import {
  allocate,
  dataTypeOf,
  voxelCount,
  type Dims3,
  type Volume,
  type VolumeMeta,
  type VoxelArray,
} from '../core/volume.js';
import {
  checkDataLength,
  checkDims,
  checkVolume,
  invalidArgument,
  isPlainLayout,
  metaOnNewGrid,
  plainLayout,
  type DataLayout,
  type Grid,
} from './grid.js';
import { reorientedLayout, type ReorientPlan } from './reorient.js';

export type Interpolation = 'linear' | 'nearest';

export interface ResampleOptions {
  /** Value of target voxels outside the source (default 0). */
  fill?: number;
  /** Buffer to write into, of the target's voxel count (Float32Array/Float64Array for linear). */
  output?: VoxelArray;
  onProgress?: ProgressCallback;
}

/** A target grid; when it carries a volume's meta, its NIfTI geometry is kept on the output. */
export type TargetGrid = Grid & { meta?: Partial<VolumeMeta> };

/** Row-major 3x4 map from target voxel (i, j, k, 1) to continuous source voxel coordinates. */
export type VoxelMap = readonly number[];

/** Fraction of a voxel within which a mapped coordinate is treated as the integer it nearly is. */
const SNAP = 1e-7;
/** Tolerance on the half-voxel border, so that grids that share an edge do not lose a row to rounding. */
const EDGE = 1e-6;

/**
 * The grid of a resampling to `spacing` (mm, one value or per axis) with the same direction cosines
 * and field of view: dims = max(1, round(dims * spacing / target)). The centre of the extent stays
 * at the same world position (voxel (n-1)/2 of the source and (m-1)/2 of the target coincide), as
 * SimpleITK-based pipelines do; when m * target equals n * spacing exactly, the outer voxel edges
 * coincide too (nnU-Net's skimage resize), e.g. 2x downsampling puts new voxel 0 between old 0 and 1.
 */
export function gridForSpacing(grid: Grid, spacing: number | Vec3): { dims: Dims3; affine: number[] } {
  checkDims(grid.dims, 'gridForSpacing');
  const target = toSpacing(spacing);
  const current = voxelSizes(grid.affine);
  const dims = [0, 1, 2].map((a) => Math.max(1, Math.round((grid.dims[a] * current[a]) / target[a]))) as Dims3;
  const a = grid.affine;
  const affine = [...a];
  for (let row = 0; row < 3; row++) {
    let centre = a[row * 4 + 3];
    let offset = 0;
    for (let c = 0; c < 3; c++) {
      const column = (a[row * 4 + c] / current[c]) * target[c];
      affine[row * 4 + c] = column;
      centre += (a[row * 4 + c] * (grid.dims[c] - 1)) / 2;
      offset += (column * (dims[c] - 1)) / 2;
    }
    affine[row * 4 + 3] = centre - offset;
  }
  return { dims, affine };
}

/**
 * The orthogonal grid at `spacing` that covers a sheared grid (a gantry-tilted stack read as acquired), as
 * a converter that straightens the tilt keeps it: two voxel axes keep their directions (a tilted stack's
 * in-plane rows and columns) and the third becomes their normal, on the side of the column it replaces, so
 * the axis order and signs stay those of `grid`. The replaced axis is `stackAxis` (the slice axis) when the
 * other two are perpendicular (cosine within SHEAR_COSINE; a tilt about the row axis leaves the rows
 * perpendicular to the table step too, so this is a choice, not a measurement), else the axis whose other
 * two are the most nearly perpendicular, those two made perpendicular by Gram-Schmidt. The grid
 * spans the source voxels' outer edges projected on those axes, dims = max(1, round(span / spacing)),
 * centred on the span as gridForSpacing centres the extent; voxels outside the parallelepiped are outside the
 * source. For an orthogonal grid it has gridForSpacing's directions and dims (use that one there).
 */
export function straightenedGrid(grid: Grid, spacing: number | Vec3, stackAxis = 2): { dims: Dims3; affine: number[] } {
  checkDims(grid.dims, 'straightenedGrid');
  const target = toSpacing(spacing);
  const a = grid.affine;
  const unit = [0, 1, 2].map((c) => {
    const length = Math.hypot(a[c], a[4 + c], a[8 + c]);
    return [a[c] / length, a[4 + c] / length, a[8 + c] / length];
  });
  const dot = (p: number[], q: number[]) => p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
  const cross = (p: number[], q: number[]) => [
    p[1] * q[2] - p[2] * q[1],
    p[2] * q[0] - p[0] * q[2],
    p[0] * q[1] - p[1] * q[0],
  ];
  const otherCosine = (c: number) => {
    const [p, q] = [0, 1, 2].filter((x) => x !== c);
    return Math.abs(dot(unit[p], unit[q]));
  };
  const replaced =
    otherCosine(stackAxis) <= SHEAR_COSINE
      ? stackAxis
      : [0, 1, 2].reduce((best, c) => (otherCosine(c) < otherCosine(best) ? c : best), stackAxis);
  const [first, second] = [0, 1, 2].filter((x) => x !== replaced);
  const axes: number[][] = [[], [], []];
  axes[first] = unit[first];
  // Gram-Schmidt, a no-op for a tilted stack, whose rows and columns are perpendicular
  const along = dot(unit[second], unit[first]);
  const rest = unit[second].map((v, r) => v - along * unit[first][r]);
  const restLength = Math.hypot(...rest);
  axes[second] = rest.map((v) => v / restLength);
  const normal = cross(axes[first], axes[second]);
  const side = Math.sign(dot(normal, unit[replaced])) || 1;
  axes[replaced] = normal.map((v) => v * side);
  // the span of the source's outer voxel edges along each new axis
  const low = [Infinity, Infinity, Infinity];
  const high = [-Infinity, -Infinity, -Infinity];
  for (let corner = 0; corner < 8; corner++) {
    const v = [0, 1, 2].map((c) => (corner & (1 << c) ? grid.dims[c] - 0.5 : -0.5));
    const world = [0, 1, 2].map((r) => a[r * 4] * v[0] + a[r * 4 + 1] * v[1] + a[r * 4 + 2] * v[2] + a[r * 4 + 3]);
    for (let c = 0; c < 3; c++) {
      const x = dot(world, axes[c]);
      low[c] = Math.min(low[c], x);
      high[c] = Math.max(high[c], x);
    }
  }
  const dims = [0, 1, 2].map((c) => Math.max(1, Math.round((high[c] - low[c]) / target[c]))) as Dims3;
  const affine = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  for (let r = 0; r < 3; r++) {
    let origin = 0;
    for (let c = 0; c < 3; c++) {
      affine[r * 4 + c] = axes[c][r] * target[c];
      origin += axes[c][r] * ((low[c] + high[c]) / 2 - (target[c] * (dims[c] - 1)) / 2);
    }
    affine[r * 4 + 3] = origin;
  }
  return { dims, affine };
}

/** Resamples to a target spacing keeping the field of view (see gridForSpacing for the convention). */
export function resampleToSpacing(
  volume: Volume,
  spacing: number | Vec3,
  mode: Interpolation,
  options: ResampleOptions = {},
): Volume {
  checkVolume(volume, 'resampleToSpacing');
  const { target, map } = spacingMap(volume, spacing);
  return resampleWithMap(volume, target, map, mode, options);
}

/**
 * `resampleToSpacing(reorient(volume, code).volume, spacing, mode)` to the bit, for the `plan` of that
 * reorientation, without the reoriented copy of the whole volume: the interpolation tables are made on
 * the reoriented grid, as there, and their offsets point into `volume`'s own data (`reorientedLayout`).
 */
export function resampleReorientedToSpacing(
  volume: Volume,
  plan: ReorientPlan,
  spacing: number | Vec3,
  mode: Interpolation,
  options: ResampleOptions = {},
): Volume {
  checkVolume(volume, 'resampleReorientedToSpacing');
  const layout = reorientedLayout(volume.dims, plan.permutation, plan.flips);
  const { target, map } = spacingMap({ dims: layout.dims, affine: plan.affine }, spacing);
  return resampleLaidOut(volume.data, layout, metaOnNewGrid(volume.meta), target, map, mode, options);
}

/**
 * The grid of a resampling to `spacing` and its target-voxel -> source-voxel map, worked out
 * analytically (per axis scale about the centre) rather than through a matrix inverse.
 */
function spacingMap(grid: Grid, spacing: number | Vec3): { target: { dims: Dims3; affine: number[] }; map: number[] } {
  const target = gridForSpacing(grid, spacing);
  const current = voxelSizes(grid.affine);
  const scales = toSpacing(spacing);
  const map = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const scale = scales[a] / current[a];
    map[a * 4 + a] = scale;
    map[a * 4 + 3] = (grid.dims[a] - 1) / 2 - (scale * (target.dims[a] - 1)) / 2;
  }
  return { target, map };
}

/**
 * Resamples `source` onto `target` (dims + affine): the output has exactly the target's grid.
 * Target voxels outside the source get `fill` (default 0).
 */
export function resampleToGrid(
  source: Volume,
  target: TargetGrid,
  mode: Interpolation,
  options: ResampleOptions = {},
): Volume {
  checkVolume(source, 'resampleToGrid');
  checkDims(target.dims, 'resampleToGrid target');
  return resampleWithMap(source, target, voxelMapBetween(source.affine, target.affine), mode, options);
}

/**
 * Maps a probability (or soft mask) volume onto `target` with linear interpolation, float32 out,
 * so that thresholding (`thresholdMask`) happens on the target grid rather than before resampling.
 */
export function resampleProbabilities(
  probabilities: Volume,
  target: TargetGrid,
  options: ResampleOptions = {},
): Volume {
  return resampleToGrid(probabilities, target, 'linear', options);
}

/** A uint8 mask (1 where value >= threshold, NaN excluded) on the same grid. */
export function thresholdMask(volume: Volume, threshold = 0.5): Volume {
  checkVolume(volume, 'thresholdMask');
  const source = volume.data;
  const mask = new Uint8Array(source.length);
  for (let i = 0; i < source.length; i++) mask[i] = source[i] >= threshold ? 1 : 0;
  return { dims: [...volume.dims], affine: [...volume.affine], data: mask, meta: { ...volume.meta } };
}

/**
 * Label-map resampling without staircasing (nnU-Net's approach for segmentations): each label's
 * indicator is interpolated linearly and every target voxel takes the label of largest weight
 * (ties to the smaller label value). Label values must be integers in [0, 2^24). One linear pass per
 * label present, so use `nearest` for maps with very many labels.
 */
export function resampleLabelsSmooth(
  labels: Volume,
  target: TargetGrid,
  options: Pick<ResampleOptions, 'fill'> = {},
): Volume {
  checkVolume(labels, 'resampleLabelsSmooth');
  checkDims(target.dims, 'resampleLabelsSmooth target');
  const map = voxelMapBetween(labels.affine, target.affine);
  const present = labelsPresent(labels.data);
  const count = voxelCount(target.dims);
  const out = allocate(dataTypeOf(labels.data), count);
  out.fill(options.fill ?? 0);
  const best = new Float32Array(count);
  const weight = new Float32Array(count);
  const indicator = new Uint8Array(labels.data.length);
  const source: Volume = { ...labels, data: indicator };
  for (const label of present) {
    const data = labels.data;
    for (let i = 0; i < data.length; i++) indicator[i] = data[i] === label ? 1 : 0;
    resampleWithMap(source, target, map, 'linear', { output: weight, fill: 0 });
    for (let i = 0; i < count; i++) {
      if (weight[i] > best[i]) {
        best[i] = weight[i];
        out[i] = label;
      }
    }
  }
  return { dims: [...target.dims], affine: [...target.affine], data: out, meta: targetMeta(labels.meta, target) };
}

/** inverse(source) * target, as a 3x4 map from target voxels to source voxels. */
export function voxelMapBetween(sourceAffine: Mat4, targetAffine: Mat4): number[] {
  return multiply4(invert4(sourceAffine), targetAffine).slice(0, 12);
}

/** Resamples with an explicit target-voxel -> source-voxel map; the output takes `target`'s grid. */
export function resampleWithMap(
  source: Volume,
  target: TargetGrid,
  map: VoxelMap,
  mode: Interpolation,
  options: ResampleOptions = {},
): Volume {
  return resampleLaidOut(source.data, plainLayout(source.dims), source.meta, target, map, mode, options);
}

/** resampleWithMap from source data lying in `data` as `layout` says; `meta` is the source's. */
function resampleLaidOut(
  data: VoxelArray,
  layout: DataLayout,
  meta: VolumeMeta,
  target: TargetGrid,
  map: VoxelMap,
  mode: Interpolation,
  options: ResampleOptions,
): Volume {
  const count = voxelCount(target.dims);
  const fill = options.fill ?? 0;
  const progress = throttledProgress(
    mode === 'linear' ? 'resample (linear)' : 'resample (nearest)',
    options.onProgress,
  );
  const out = options.output ?? (mode === 'linear' ? new Float32Array(count) : allocate(dataTypeOf(data), count));
  checkDataLength(out, count, 'resample output buffer');
  const permutation = axisAlignedPermutation(map);
  // the per-voxel paths address the source by its own strides; only the axis tables know other layouts
  if (!permutation && !isPlainLayout(layout)) {
    throw invalidArgument('resample: a reoriented layout can only be resampled along its axes');
  }
  const source = { dims: layout.dims, data };
  if (mode === 'linear') {
    if (!(out instanceof Float32Array || out instanceof Float64Array)) {
      throw invalidArgument('resample: linear interpolation needs a Float32Array or Float64Array output buffer');
    }
    if (permutation) linearAxisAligned(data, layout, target.dims, map, permutation, out, fill, progress);
    else linearGeneral(source, target.dims, map, out, fill, progress);
  } else {
    if (permutation) nearestAxisAligned(data, layout, target.dims, map, permutation, out, fill, progress);
    else nearestGeneral(source, target.dims, map, out, fill, progress);
  }
  progress(1);
  return { dims: [...target.dims], affine: [...target.affine], data: out, meta: targetMeta(meta, target) };
}

function targetMeta(meta: VolumeMeta, target: TargetGrid): VolumeMeta {
  return metaOnNewGrid(meta, target.meta?.nifti ? { nifti: target.meta.nifti } : undefined);
}

function toSpacing(spacing: number | Vec3): Vec3 {
  const s: Vec3 = typeof spacing === 'number' ? [spacing, spacing, spacing] : [spacing[0], spacing[1], spacing[2]];
  if (!s.every((v) => Number.isFinite(v) && v > 0))
    throw invalidArgument(`resample: spacing ${s.join(', ')} must be positive`);
  return s;
}

/**
 * For an axis-aligned map, the source axis each target axis moves along; null when some target axis
 * moves along more than one source axis (rotation or shear between the grids).
 */
export function axisAlignedPermutation(map: VoxelMap): [number, number, number] | null {
  const permutation: [number, number, number] = [-1, -1, -1];
  for (let a = 0; a < 3; a++) {
    let largest = 0;
    for (let r = 0; r < 3; r++) if (Math.abs(map[r * 4 + a]) > Math.abs(map[largest * 4 + a])) largest = r;
    const size = Math.abs(map[largest * 4 + a]);
    for (let r = 0; r < 3; r++) if (r !== largest && Math.abs(map[r * 4 + a]) > 1e-9 * size) return null;
    if (size === 0 || permutation.includes(largest)) return null;
    permutation[a] = largest;
  }
  return permutation;
}

/** Continuous coordinate with near-integers snapped, so identity-like maps reproduce values exactly. */
function snapped(c: number): number {
  const r = Math.round(c);
  return Math.abs(c - r) < SNAP ? r : c;
}

/** Linear interpolation along one target axis: per target coordinate, its source neighbours and weight. */
export interface LinearTable {
  /** Source offsets (start + coordinate * stride, as the source's DataLayout) of the lower and upper neighbour. */
  lower: Int32Array;
  upper: Int32Array;
  /** Weight of the upper neighbour. */
  weight: Float64Array;
  inside: Uint8Array;
}

function linearTable(
  count: number,
  scale: number,
  offset: number,
  sourceCount: number,
  stride: number,
  start: number,
): LinearTable {
  const table: LinearTable = {
    lower: new Int32Array(count),
    upper: new Int32Array(count),
    weight: new Float64Array(count),
    inside: new Uint8Array(count),
  };
  for (let x = 0; x < count; x++) {
    const c = snapped(scale * x + offset);
    if (c < -0.5 - EDGE || c > sourceCount - 0.5 + EDGE) continue;
    const clamped = c < 0 ? 0 : c > sourceCount - 1 ? sourceCount - 1 : c;
    const low = Math.floor(clamped);
    const high = low + 1 < sourceCount ? low + 1 : low;
    table.lower[x] = start + low * stride;
    table.upper[x] = start + high * stride;
    table.weight[x] = clamped - low;
    table.inside[x] = 1;
  }
  return table;
}

/** Source offsets (start + coordinate * stride) of the nearest voxel, -1 outside the source. */
function nearestTable(
  count: number,
  scale: number,
  offset: number,
  sourceCount: number,
  stride: number,
  start: number,
): Int32Array {
  const table = new Int32Array(count);
  for (let x = 0; x < count; x++) {
    const c = snapped(scale * x + offset);
    if (c < -0.5 - EDGE || c > sourceCount - 0.5 + EDGE) {
      table[x] = -1;
      continue;
    }
    const index = Math.floor(c + 0.5);
    table[x] = start + (index < 0 ? 0 : index >= sourceCount ? sourceCount - 1 : index) * stride;
  }
  return table;
}

function axisTables<T>(
  layout: DataLayout,
  targetDims: Dims3,
  map: VoxelMap,
  permutation: [number, number, number],
  build: (count: number, scale: number, offset: number, sourceCount: number, stride: number, start: number) => T,
): [T, T, T] {
  return [0, 1, 2].map((a) => {
    const s = permutation[a];
    return build(targetDims[a], map[s * 4 + a], map[s * 4 + 3], layout.dims[s], layout.strides[s], layout.starts[s]);
  }) as [T, T, T];
}

/**
 * The per-axis tables of resampleToGrid's linear interpolation of `source` onto `target` ([x, y, z],
 * offsets along the source axis each target axis moves along), for callers that interpolate only some
 * rows (interpolateLinearRow); null when the grids are not axis-aligned.
 */
export function linearAxisTables(
  source: Volume,
  target: Grid,
): { tables: [LinearTable, LinearTable, LinearTable]; permutation: [number, number, number] } | null {
  const map = voxelMapBetween(source.affine, target.affine);
  const permutation = axisAlignedPermutation(map);
  if (!permutation) return null;
  return { tables: axisTables(plainLayout(source.dims), target.dims, map, permutation, linearTable), permutation };
}

/**
 * Linear interpolation of target row (j, k) at i = from .. to - 1 into out[o + i], exactly as
 * resampleToGrid computes it (`fill` outside the source).
 */
export function interpolateLinearRow(
  src: VoxelArray,
  [tx, ty, tz]: readonly [LinearTable, LinearTable, LinearTable],
  j: number,
  k: number,
  out: Float32Array | Float64Array,
  o: number,
  from: number,
  to: number,
  fill: number,
): void {
  if (!tz.inside[k] || !ty.inside[j]) {
    out.fill(fill, o + from, o + to);
    return;
  }
  const z0 = tz.lower[k];
  const z1 = tz.upper[k];
  const y0 = ty.lower[j];
  const y1 = ty.upper[j];
  const wz = tz.weight[k];
  if (wz === 0) bilinearRow(src, out, o, tx, y0 + z0, y1 + z0, ty.weight[j], fill, from, to);
  else trilinearRow(src, out, o, tx, y0 + z0, y1 + z0, y0 + z1, y1 + z1, ty.weight[j], wz, fill, from, to);
}

function linearAxisAligned(
  src: VoxelArray,
  layout: DataLayout,
  targetDims: Dims3,
  map: VoxelMap,
  permutation: [number, number, number],
  out: Float32Array | Float64Array,
  fill: number,
  progress: (fraction: number) => void,
): void {
  const tables = axisTables(layout, targetDims, map, permutation, linearTable);
  const [nx, ny, nz] = targetDims;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++, o += nx) interpolateLinearRow(src, tables, j, k, out, o, 0, nx, fill);
    progress((k + 1) / nz);
  }
}

/** One target row between two source rows (the slice weight is zero: a common in-plane case). */
function bilinearRow(
  src: VoxelArray,
  out: Float32Array | Float64Array,
  o: number,
  tx: LinearTable,
  b0: number,
  b1: number,
  wy: number,
  fill: number,
  from: number,
  to: number,
): void {
  const { lower, upper, weight, inside } = tx;
  for (let i = from; i < to; i++) {
    if (!inside[i]) {
      out[o + i] = fill;
      continue;
    }
    const x0 = lower[i];
    const x1 = upper[i];
    const wx = weight[i];
    const a = src[b0 + x0];
    const c0 = a + (src[b0 + x1] - a) * wx;
    const b = src[b1 + x0];
    const c1 = b + (src[b1 + x1] - b) * wx;
    out[o + i] = c0 + (c1 - c0) * wy;
  }
}

function trilinearRow(
  src: VoxelArray,
  out: Float32Array | Float64Array,
  o: number,
  tx: LinearTable,
  b00: number,
  b10: number,
  b01: number,
  b11: number,
  wy: number,
  wz: number,
  fill: number,
  from: number,
  to: number,
): void {
  const { lower, upper, weight, inside } = tx;
  for (let i = from; i < to; i++) {
    if (!inside[i]) {
      out[o + i] = fill;
      continue;
    }
    const x0 = lower[i];
    const x1 = upper[i];
    const wx = weight[i];
    let a = src[b00 + x0];
    const c00 = a + (src[b00 + x1] - a) * wx;
    a = src[b10 + x0];
    const c10 = a + (src[b10 + x1] - a) * wx;
    a = src[b01 + x0];
    const c01 = a + (src[b01 + x1] - a) * wx;
    a = src[b11 + x0];
    const c11 = a + (src[b11 + x1] - a) * wx;
    const c0 = c00 + (c10 - c00) * wy;
    const c1 = c01 + (c11 - c01) * wy;
    out[o + i] = c0 + (c1 - c0) * wz;
  }
}

function nearestAxisAligned(
  src: VoxelArray,
  layout: DataLayout,
  targetDims: Dims3,
  map: VoxelMap,
  permutation: [number, number, number],
  out: VoxelArray,
  fill: number,
  progress: (fraction: number) => void,
): void {
  const [tx, ty, tz] = axisTables(layout, targetDims, map, permutation, nearestTable);
  const [nx, ny, nz] = targetDims;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    const z = tz[k];
    for (let j = 0; j < ny; j++, o += nx) {
      const y = ty[j];
      if (z < 0 || y < 0) {
        out.fill(fill, o, o + nx);
        continue;
      }
      const base = y + z;
      for (let i = 0; i < nx; i++) {
        const x = tx[i];
        out[o + i] = x < 0 ? fill : src[base + x];
      }
    }
    progress((k + 1) / nz);
  }
}

function linearGeneral(
  source: Pick<Volume, 'dims' | 'data'>,
  targetDims: Dims3,
  map: VoxelMap,
  out: Float32Array | Float64Array,
  fill: number,
  progress: (fraction: number) => void,
): void {
  const [sx, sy, sz] = source.dims;
  const strideY = sx;
  const strideZ = sx * sy;
  const src = source.data;
  const [nx, ny, nz] = targetDims;
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11] = map;
  const xMax = sx - 0.5 + EDGE;
  const yMax = sy - 0.5 + EDGE;
  const zMax = sz - 0.5 + EDGE;
  const low = -0.5 - EDGE;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const rx = m1 * j + m2 * k + m3;
      const ry = m5 * j + m6 * k + m7;
      const rz = m9 * j + m10 * k + m11;
      for (let i = 0; i < nx; i++, o++) {
        let x = rx + m0 * i;
        let y = ry + m4 * i;
        let z = rz + m8 * i;
        if (x < low || y < low || z < low || x > xMax || y > yMax || z > zMax) {
          out[o] = fill;
          continue;
        }
        x = x < 0 ? 0 : x > sx - 1 ? sx - 1 : x;
        y = y < 0 ? 0 : y > sy - 1 ? sy - 1 : y;
        z = z < 0 ? 0 : z > sz - 1 ? sz - 1 : z;
        const x0 = Math.floor(x);
        const y0 = Math.floor(y);
        const z0 = Math.floor(z);
        const wx = x - x0;
        const wy = y - y0;
        const wz = z - z0;
        const dx = x0 + 1 < sx ? 1 : 0;
        const dy = y0 + 1 < sy ? strideY : 0;
        const dz = z0 + 1 < sz ? strideZ : 0;
        const b = x0 + y0 * strideY + z0 * strideZ;
        let a = src[b];
        const c00 = a + (src[b + dx] - a) * wx;
        a = src[b + dy];
        const c10 = a + (src[b + dy + dx] - a) * wx;
        a = src[b + dz];
        const c01 = a + (src[b + dz + dx] - a) * wx;
        a = src[b + dy + dz];
        const c11 = a + (src[b + dy + dz + dx] - a) * wx;
        const c0 = c00 + (c10 - c00) * wy;
        const c1 = c01 + (c11 - c01) * wy;
        out[o] = c0 + (c1 - c0) * wz;
      }
    }
    progress((k + 1) / nz);
  }
}

function nearestGeneral(
  source: Pick<Volume, 'dims' | 'data'>,
  targetDims: Dims3,
  map: VoxelMap,
  out: VoxelArray,
  fill: number,
  progress: (fraction: number) => void,
): void {
  const [sx, sy, sz] = source.dims;
  const src = source.data;
  const [nx, ny, nz] = targetDims;
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11] = map;
  const xMax = sx - 0.5 + EDGE;
  const yMax = sy - 0.5 + EDGE;
  const zMax = sz - 0.5 + EDGE;
  const low = -0.5 - EDGE;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const rx = m1 * j + m2 * k + m3;
      const ry = m5 * j + m6 * k + m7;
      const rz = m9 * j + m10 * k + m11;
      for (let i = 0; i < nx; i++, o++) {
        const x = rx + m0 * i;
        const y = ry + m4 * i;
        const z = rz + m8 * i;
        if (x < low || y < low || z < low || x > xMax || y > yMax || z > zMax) {
          out[o] = fill;
          continue;
        }
        // floor(c + 0.5): the voxel whose extent [v - 0.5, v + 0.5) holds c, clamped for the EDGE slack.
        let xi = Math.floor(x + 0.5);
        let yi = Math.floor(y + 0.5);
        let zi = Math.floor(z + 0.5);
        xi = xi < 0 ? 0 : xi >= sx ? sx - 1 : xi;
        yi = yi < 0 ? 0 : yi >= sy ? sy - 1 : yi;
        zi = zi < 0 ? 0 : zi >= sz ? sz - 1 : zi;
        out[o] = src[xi + sx * (yi + sy * zi)];
      }
    }
    progress((k + 1) / nz);
  }
}

/** Distinct label values present, ascending; throws unless they are integers in [0, 2^24). */
function labelsPresent(data: VoxelArray): number[] {
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v >= 0 && v < 16777216 && v === Math.floor(v))) {
      throw invalidArgument(`resampleLabelsSmooth: label value ${v} is not an integer in [0, 2^24)`);
    }
    if (v > max) max = v;
  }
  const seen = new Uint8Array(max + 1);
  for (let i = 0; i < data.length; i++) seen[data[i]] = 1;
  const present: number[] = [];
  for (let v = 0; v <= max; v++) if (seen[v]) present.push(v);
  return present;
}
