import { invert4, isSheared, multiply4, transformPoint } from '../core/affine.js';
import { MedparseError } from '../core/errors.js';
import { sliceStackMapping } from '../core/orientation.js';
import { physicalAffine, type Volume, type VoxelArray } from '../core/volume.js';
import {
  interpolateLinearRow,
  linearAxisTables,
  planReorientation,
  reorientRecord,
  resampleReorientedToSpacing,
  resampleToGrid,
  straightenedGrid,
  zScore,
  type Grid,
  type ReorientRecord,
  type VoxelBox,
} from '../ops/index.js';
import type { ImagingModality, NetworkSpec, NormalizationSpec } from './model-package.js';

/**
 * The preprocessing contract of docs/model-contract.md: reorient exactly, resample to the network's
 * spacing, normalise by modality. It records what it did so results go back onto the input's grid.
 */
export interface PreparedInput {
  /** Normalised float32 image on the network's working grid. */
  image: Volume;
  /** What the network sees beyond the image's edge (`backgroundValue`). */
  padValue: number;
  /** What it takes to map a working-grid result back onto the original voxel grid. */
  mapping: WorkingGridMapping;
}

export interface WorkingGridMapping {
  reorientation: ReorientRecord;
  /** The reoriented (not yet resampled) grid, with the physical affine. */
  reorientedGrid: Grid;
  workingGrid: Grid;
}

export function prepareInput(volume: Volume, network: NetworkSpec, modality: ImagingModality): PreparedInput {
  const spec = network.normalization[modality];
  if (!spec) {
    throw new MedparseError(
      'INVALID_ARGUMENT',
      `network ${network.id} takes ${network.modalities.join('/')} images, not ${modality}`,
    );
  }
  const physical = withPhysicalAffine(volume);
  const mapping = network.sliceAxis === 'thickest' ? sliceStackMapping(physical.affine) : undefined;
  const plan = planReorientation(physical, network.orientation, mapping);
  if (isSheared(physical.affine)) return prepareSheared(physical, network, spec, plan);
  // Resampled straight from the input's data through the reorientation's index mapping: a reoriented
  // copy would cost a whole input's worth of memory (70 MB for a 512x512x134 int16 CT) and a pass over it.
  const resampled = resampleReorientedToSpacing(physical, plan, network.spacing, 'linear');
  const image = normalizeOwned(resampled, spec);
  return {
    image,
    padValue: backgroundValue(spec),
    mapping: {
      reorientation: reorientRecord(physical, network.orientation, plan),
      reorientedGrid: { dims: plan.dims, affine: plan.affine },
      workingGrid: { dims: image.dims, affine: image.affine },
    },
  };
}

/**
 * prepareInput for a sheared grid (a gantry-tilted CT read as acquired): the network works on an orthogonal
 * grid at its spacing, the tilt straightened (`straightenedGrid` of the reoriented grid: the acquired rows and
 * columns, and their normal), resampled through the full affine, so it sees the anatomy as it is rather than
 * sheared by the tilt. Voxels of that grid outside the acquired parallelepiped hold `padValue`, as beyond the
 * image's edge, and take no part in an MR z-score. Results go back onto the acquired (sheared) grid through
 * the mapping, as for any other grid (probabilityOnOriginalGrid resamples each voxel through the affines).
 */
function prepareSheared(
  physical: Volume,
  network: NetworkSpec,
  spec: NormalizationSpec,
  plan: ReturnType<typeof planReorientation>,
): PreparedInput {
  // the slice axis (the input's k) is the one straightened: its column is the table step, off the normal
  const grid = straightenedGrid({ dims: plan.dims, affine: plan.affine }, network.spacing, plan.permutation.indexOf(2));
  const resampled = resampleToGrid(physical, grid, 'linear', { fill: NaN });
  const data = resampled.data as Float32Array;
  const inside = Uint8Array.from(data, (v) => (v === v ? 1 : 0));
  const padValue = backgroundValue(spec);
  const normalized =
    spec.type === 'ct_clip'
      ? windowCt(data, spec, data)
      : (zScore(resampled, {
          mask: inside,
          nonzero: spec.nonzeroOnly,
          clipPercentiles: [spec.lowerPercentile, spec.upperPercentile],
        }).volume.data as Float32Array);
  for (let i = 0; i < normalized.length; i++) if (!inside[i]) normalized[i] = padValue;
  const image: Volume = { ...resampled, data: normalized };
  return {
    image,
    padValue,
    mapping: {
      reorientation: reorientRecord(physical, network.orientation, plan),
      reorientedGrid: { dims: plan.dims, affine: plan.affine },
      workingGrid: { dims: image.dims, affine: image.affine },
    },
  };
}

/**
 * The volume with an affine whose column lengths are the stated voxel size. Some files (ACDC) carry a
 * unit-scaled sform while pixdim holds the real spacing: resampling must use the real one. Results
 * go back by voxel index, so the output keeps the input's own affine either way.
 */
export function withPhysicalAffine(volume: Volume): Volume {
  if (!volume.spacing) return volume;
  return { ...volume, affine: physicalAffine(volume), spacing: undefined };
}

/**
 * The normalised value of "nothing there", which patches get beyond the image's edge, as in training:
 * air for CT (the clip's lower bound); 0 for z-scored MR, the value of a zero-background scan's
 * background (nonzero-only normalisation leaves it at 0) and the mean of any other.
 */
export function backgroundValue(spec: NormalizationSpec): number {
  return spec.type === 'ct_clip' ? (spec.lower - spec.mean) / spec.std : 0;
}

export function normalize(volume: Volume, spec: NormalizationSpec): Volume {
  if (spec.type === 'ct_clip')
    return { ...volume, data: windowCt(volume.data, spec, new Float32Array(volume.data.length)) };
  return zScore(volume, {
    nonzero: spec.nonzeroOnly,
    clipPercentiles: [spec.lowerPercentile, spec.upperPercentile],
  }).volume;
}

type CtWindow = Extract<NormalizationSpec, { type: 'ct_clip' }>;

/**
 * normalize for a float32 volume nobody else holds (a fresh resampling): a CT window is written over its
 * own data, which saves a working image's worth of memory; the values are normalize's to the bit.
 */
function normalizeOwned(volume: Volume, spec: NormalizationSpec): Volume {
  if (spec.type !== 'ct_clip' || !(volume.data instanceof Float32Array)) return normalize(volume, spec);
  return { ...volume, data: windowCt(volume.data, spec, volume.data) };
}

/** The CT window, clipped and scaled, into `out` (which may be `data` itself: each value is read before it is written). */
function windowCt(data: VoxelArray, spec: CtWindow, out: Float32Array): Float32Array {
  const scale = 1 / spec.std;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] < spec.lower ? spec.lower : data[i] > spec.upper ? spec.upper : data[i];
    out[i] = (v - spec.mean) * scale;
  }
  return out;
}

/** Inclusive voxel box [i0, j0, k0, i1, j1, k1]: ops' VoxelBox. */
export type Box = VoxelBox;

export interface OriginalGridProbability {
  /** round(255 p) where p > threshold, else 0, on the original voxel grid: the mask and its confidence. */
  probability: Uint8Array;
  voxels: number;
  /** Tight box of the mask on the original grid; null when empty. */
  box: Box | null;
}

/**
 * Maps a probability map on the working grid back onto the original voxel grid and thresholds it
 * there, so the mask follows the smooth probability rather than blocky working voxels. Only the
 * box around the working mask is resampled (linear interpolation cannot exceed the threshold
 * further than one working voxel away from a voxel above it), and the result is scattered straight
 * into original voxel order, so a prompt costs time in proportion to its object, not to the scan.
 */
export function probabilityOnOriginalGrid(
  workingProbabilities: Volume,
  mapping: WorkingGridMapping,
  threshold = 0.5,
): OriginalGridProbability {
  const record = mapping.reorientation;
  const probability = new Uint8Array(record.originalDims[0] * record.originalDims[1] * record.originalDims[2]);
  const workingBox = boxAbove(workingProbabilities.data, workingProbabilities.dims, threshold);
  if (!workingBox) return { probability, voxels: 0, box: null };
  const box = reorientedBoxOf(workingBox, mapping);
  const size = [box[3] - box[0] + 1, box[4] - box[1] + 1, box[5] - box[2] + 1] as [number, number, number];
  const origin = transformPoint(mapping.reorientedGrid.affine, [box[0], box[1], box[2]]);
  const a = mapping.reorientedGrid.affine;
  const subgrid = {
    dims: size,
    affine: [a[0], a[1], a[2], origin[0], a[4], a[5], a[6], origin[1], a[8], a[9], a[10], origin[2], 0, 0, 0, 1],
  };
  const writer = new OriginalGridWriter(box, record, probability, threshold);
  if (!resampleRowsNearMask(workingProbabilities, subgrid, writer, threshold)) {
    const values = resampleToGrid(workingProbabilities, subgrid, 'linear').data;
    for (let c = 0; c < size[2]; c++)
      for (let b = 0; b < size[1]; b++) writer.writeRow(values, size[0] * (b + size[1] * c), b, c, 0, size[0]);
  }
  return writer.result();
}

/**
 * Resamples, row by row, only the parts of the box's rows that can exceed the threshold and hands them
 * to `writer`: a linear value is a weighted mean of its source neighbours, so it stays at or under the
 * threshold (also in float32) where all of them do. The values are resampleToGrid's to the bit (same
 * tables and arithmetic). Returns false, having done nothing, where the grids' axes differ in order.
 */
function resampleRowsNearMask(working: Volume, subgrid: Grid, writer: OriginalGridWriter, threshold: number): boolean {
  const linear = linearAxisTables(working, subgrid);
  // outside the source a value is the fill, 0, which must stay under the threshold to be skipped
  if (!linear || linear.permutation.some((axis, n) => axis !== n) || !(threshold >= 0)) return false;
  const [tx, ty, tz] = linear.tables;
  const extents = rowExtentsAbove(working.data, working.dims, threshold);
  const sx = working.dims[0];
  const [nx, ny, nz] = subgrid.dims;
  const row = new Float32Array(nx);
  for (let c = 0; c < nz; c++) {
    if (!tz.inside[c]) continue;
    for (let b = 0; b < ny; b++) {
      if (!ty.inside[b]) continue;
      // the source rows this row reads, as row indices (offsets / sx), and the x range above the threshold there
      const rows = [
        ty.lower[b] + tz.lower[c],
        ty.upper[b] + tz.lower[c],
        ty.lower[b] + tz.upper[c],
        ty.upper[b] + tz.upper[c],
      ];
      const lo = Math.min(...rows.map((offset) => extents.first[offset / sx]));
      const hi = Math.max(...rows.map((offset) => extents.last[offset / sx]));
      if (lo > hi) continue;
      let from = 0;
      let to = nx;
      const near = (i: number) => tx.inside[i] === 1 && tx.upper[i] >= lo && tx.lower[i] <= hi;
      while (from < to && !near(from)) from++;
      while (to > from && !near(to - 1)) to--;
      interpolateLinearRow(working.data, linear.tables, b, c, row, 0, from, to, 0);
      writer.writeRow(row, 0, b, c, from, to);
    }
  }
  return true;
}

/** Per row of a volume, the first and last i whose value is not at or under the threshold (first > last: none). */
function rowExtentsAbove(
  data: ArrayLike<number>,
  dims: readonly number[],
  threshold: number,
): { first: Int32Array; last: Int32Array } {
  const [nx, ny, nz] = dims;
  const first = new Int32Array(ny * nz).fill(nx);
  const last = new Int32Array(ny * nz).fill(-1);
  for (let r = 0; r < ny * nz; r++) {
    for (let i = 0; i < nx; i++) {
      if (data[r * nx + i] <= threshold) continue;
      if (first[r] === nx) first[r] = i;
      last[r] = i;
    }
  }
  return { first, last };
}

function boxAbove(data: ArrayLike<number>, dims: readonly number[], threshold: number): Box | null {
  const [nx, ny, nz] = dims;
  const box: Box = [nx, ny, nz, -1, -1, -1];
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) {
        if (data[index] > threshold) extendBox(box, i, j, k);
      }
    }
  }
  return box[3] < 0 ? null : box;
}

/** The reoriented-grid box that covers a working-grid box grown by one working voxel. */
function reorientedBoxOf(workingBox: Box, mapping: WorkingGridMapping): Box {
  const toReoriented = multiply4(invert4(mapping.reorientedGrid.affine), mapping.workingGrid.affine);
  const dims = mapping.reorientedGrid.dims;
  const out: Box = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  for (const i of [workingBox[0] - 1, workingBox[3] + 1]) {
    for (const j of [workingBox[1] - 1, workingBox[4] + 1]) {
      for (const k of [workingBox[2] - 1, workingBox[5] + 1]) {
        const p = transformPoint(toReoriented, [i, j, k]);
        for (let axis = 0; axis < 3; axis++) {
          out[axis] = Math.min(out[axis], Math.floor(p[axis]));
          out[axis + 3] = Math.max(out[axis + 3], Math.ceil(p[axis]));
        }
      }
    }
  }
  for (let axis = 0; axis < 3; axis++) {
    out[axis] = Math.max(0, out[axis]);
    out[axis + 3] = Math.min(dims[axis] - 1, out[axis + 3]);
  }
  return out;
}

/**
 * Writes thresholded, quantised rows of a box on the reoriented grid into original voxel order (undoing
 * the reorientation), counting the voxels and bounding them.
 */
class OriginalGridWriter {
  private readonly start: number;
  private readonly step: number[];
  private voxels = 0;
  /** Bounds of the written voxels, box-relative on the reoriented grid: a0 b0 c0 a1 b1 c1. */
  private readonly written: Box = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];

  constructor(
    private readonly box: Box,
    private readonly record: WorkingGridMapping['reorientation'],
    private readonly out: Uint8Array,
    private readonly threshold: number,
  ) {
    const dims = record.originalDims;
    const strides = [1, dims[0], dims[0] * dims[1]];
    // For reoriented axis n: where its box start lands in the original index, and the step per voxel.
    this.start = [0, 1, 2].reduce((sum, n) => {
      const axis = record.permutation[n];
      return sum + (record.flips[n] ? dims[axis] - 1 - box[n] : box[n]) * strides[axis];
    }, 0);
    this.step = [0, 1, 2].map((n) => (record.flips[n] ? -1 : 1) * strides[record.permutation[n]]);
  }

  /** Row (b, c) of the box at a = from .. to - 1, its values at values[offset + a]. */
  writeRow(values: ArrayLike<number>, offset: number, b: number, c: number, from: number, to: number): void {
    const { out, threshold, step } = this;
    let target = this.start + b * step[1] + c * step[2] + from * step[0];
    let first = -1;
    let last = -1;
    for (let a = from; a < to; a++, target += step[0]) {
      const p = values[offset + a];
      if (p <= threshold) continue;
      out[target] = Math.max(1, Math.round(p * 255));
      if (first < 0) first = a;
      last = a;
      this.voxels++;
    }
    if (first >= 0) {
      extendBox(this.written, first, b, c);
      extendBox(this.written, last, b, c);
    }
  }

  result(): OriginalGridProbability {
    if (!this.voxels) return { probability: this.out, voxels: 0, box: null };
    const { box, record, written } = this;
    const dims = record.originalDims;
    const originalBox: Box = [0, 0, 0, 0, 0, 0];
    for (let n = 0; n < 3; n++) {
      const axis = record.permutation[n];
      const [low, high] = [box[n] + written[n], box[n] + written[n + 3]];
      originalBox[axis] = record.flips[n] ? dims[axis] - 1 - high : low;
      originalBox[axis + 3] = record.flips[n] ? dims[axis] - 1 - low : high;
    }
    return { probability: this.out, voxels: this.voxels, box: originalBox };
  }
}

function extendBox(box: Box, i: number, j: number, k: number): void {
  if (i < box[0]) box[0] = i;
  if (i > box[3]) box[3] = i;
  if (j < box[1]) box[1] = j;
  if (j > box[4]) box[4] = j;
  if (k < box[2]) box[2] = k;
  if (k > box[5]) box[5] = k;
}
