/**
 * Per-label statistics of a label map (or binary mask) against an optional intensity volume on the
 * same grid, in one pass over the voxels with accumulators indexed by label value.
 *
 * Conventions: volume in mL = voxels * |det(affine 3x3)| / 1000; std is the population std (ddof 0);
 * boxes are inclusive voxel indices, and the world box is the min/max over the world positions of
 * the 8 corner voxel centres; centroids are the mean voxel index and its world position.
 */
import { transformPoint, type Vec3 } from '../core/affine.js';
import type { Volume, VoxelArray } from '../core/volume.js';
import { checkSameDims, checkVolume, invalidArgument, voxelVolumeMm3, type VoxelBox } from './grid.js';

export interface IntensityStatistics {
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface LabelStatistics {
  label: number;
  voxels: number;
  volumeMl: number;
  /** Over the intensity volume's voxels of this label (NaN voxels skipped); null without one. */
  intensity: IntensityStatistics | null;
  boxVoxels: VoxelBox;
  boxWorld: { min: Vec3; max: Vec3 };
  centroidVoxel: Vec3;
  centroidWorld: Vec3;
}

export interface StatisticsOptions {
  /** Also report label 0 (default false). */
  includeBackground?: boolean;
  /**
   * The labels lie on this box (inclusive) of the intensity volume's grid, as a crop of it would: the
   * intensities are read in place, not copied. By default both are on one grid.
   */
  intensityBox?: VoxelBox;
}

/** The largest label value accepted (accumulators are arrays indexed by label value). */
const MAX_LABEL = 1 << 24;

/** Statistics of every label present, ascending by label value. */
export function labelStatistics(
  labels: Volume,
  intensity?: Volume,
  options: StatisticsOptions = {},
): LabelStatistics[] {
  checkVolume(labels, 'labelStatistics');
  const box = options.intensityBox ?? [0, 0, 0, labels.dims[0] - 1, labels.dims[1] - 1, labels.dims[2] - 1];
  if (intensity) {
    checkVolume(intensity, 'labelStatistics intensity');
    if (options.intensityBox) checkBoxFits(labels, intensity, options.intensityBox);
    else checkSameDims(labels, intensity, 'labelStatistics');
  }
  const acc = new Accumulators(largestLabel(labels.data) + 1);
  const values = intensity && { data: intensity.data, dims: intensity.dims, box };
  accumulate(acc, labels, values, options.includeBackground === true);
  return summarizeLabels(acc, labels, intensity !== undefined);
}

/** Validates the label values (integers in [0, 2^24)) and returns the largest. */
function largestLabel(data: VoxelArray): number {
  if (data instanceof Uint8Array) return 255;
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v > max) max = v;
    else if (!(v >= 0)) throw invalidArgument(`labelStatistics: label value ${v} is negative or NaN`);
  }
  if (max >= MAX_LABEL || !Number.isInteger(max))
    throw invalidArgument(`labelStatistics: label value ${max} is not an integer below 2^24`);
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return max;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isInteger(data[i])) throw invalidArgument(`labelStatistics: label value ${data[i]} is not an integer`);
  }
  return max;
}

/**
 * Running sums per label. Intensities are summed relative to the label's first intensity (shifted
 * data), which keeps the one-pass variance accurate for float data far from zero.
 */
class Accumulators {
  readonly count: Float64Array;
  readonly sumI: Float64Array;
  readonly sumJ: Float64Array;
  readonly sumK: Float64Array;
  readonly box: Int32Array; // 6 per label: i0 j0 k0 i1 j1 k1
  readonly valueCount: Float64Array;
  readonly shift: Float64Array;
  readonly sum: Float64Array;
  readonly sumSquares: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;

  constructor(size: number) {
    this.count = new Float64Array(size);
    this.sumI = new Float64Array(size);
    this.sumJ = new Float64Array(size);
    this.sumK = new Float64Array(size);
    this.box = new Int32Array(size * 6);
    for (let l = 0; l < size; l++) this.box.set([2147483647, 2147483647, 2147483647, -1, -1, -1], l * 6);
    this.valueCount = new Float64Array(size);
    this.shift = new Float64Array(size);
    this.sum = new Float64Array(size);
    this.sumSquares = new Float64Array(size);
    this.min = new Float64Array(size).fill(Infinity);
    this.max = new Float64Array(size).fill(-Infinity);
  }
}

/**
 * Label maps are piecewise constant, so each row is walked as runs of one label: geometry sums and
 * box updates happen once per run, and only the intensity sums are per voxel (in locals).
 */
function accumulate(
  acc: Accumulators,
  labels: Volume,
  values: { data: VoxelArray; dims: readonly number[]; box: VoxelBox } | undefined,
  includeBackground: boolean,
): void {
  const [nx, ny, nz] = labels.dims;
  const data = labels.data;
  const { count, sumI, sumJ, sumK, box } = acc;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k);
      // the same row of the intensity volume, where the labels' box lies
      const valueRow = values
        ? values.box[0] + values.dims[0] * (values.box[1] + j + values.dims[1] * (values.box[2] + k))
        : 0;
      let i = 0;
      while (i < nx) {
        const label = data[row + i];
        let end = i + 1;
        while (end < nx && data[row + end] === label) end++;
        if (label !== 0 || includeBackground) {
          const length = end - i;
          count[label] += length;
          sumI[label] += ((i + end - 1) * length) / 2;
          sumJ[label] += j * length;
          sumK[label] += k * length;
          const b = label * 6;
          if (i < box[b]) box[b] = i;
          if (end - 1 > box[b + 3]) box[b + 3] = end - 1;
          if (j < box[b + 1]) box[b + 1] = j;
          if (j > box[b + 4]) box[b + 4] = j;
          if (k < box[b + 2]) box[b + 2] = k;
          box[b + 5] = k; // k never decreases in scan order
          if (values !== undefined) accumulateIntensities(acc, label, values.data, valueRow + i, valueRow + end);
        }
        i = end;
      }
    }
  }
}

/** Shifted sums, min and max of values[from..to) into the label's accumulators (NaN skipped). */
function accumulateIntensities(acc: Accumulators, label: number, values: VoxelArray, from: number, to: number): void {
  let n = acc.valueCount[label];
  let shift = acc.shift[label];
  let sum = 0;
  let squares = 0;
  let min = acc.min[label];
  let max = acc.max[label];
  for (let v = from; v < to; v++) {
    const value = values[v];
    if (value !== value) continue;
    if (n === 0) shift = value;
    n++;
    const d = value - shift;
    sum += d;
    squares += d * d;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  acc.valueCount[label] = n;
  acc.shift[label] = shift;
  acc.sum[label] += sum;
  acc.sumSquares[label] += squares;
  acc.min[label] = min;
  acc.max[label] = max;
}

function checkBoxFits(labels: Volume, intensity: Volume, box: VoxelBox): void {
  const fits = [0, 1, 2].every(
    (a) => box[a] >= 0 && box[a + 3] < intensity.dims[a] && box[a + 3] - box[a] + 1 === labels.dims[a],
  );
  if (!fits)
    throw invalidArgument(
      `labelStatistics: labels of ${labels.dims.join('x')} do not fill box [${box.join(', ')}] of the ${intensity.dims.join('x')} intensities`,
    );
}

function summarizeLabels(acc: Accumulators, labels: Volume, withIntensity: boolean): LabelStatistics[] {
  const voxelMl = voxelVolumeMm3(labels.affine) / 1000;
  const result: LabelStatistics[] = [];
  for (let label = 0; label < acc.count.length; label++) {
    const n = acc.count[label];
    if (n === 0) continue;
    const b = label * 6;
    const boxVoxels: VoxelBox = [
      acc.box[b],
      acc.box[b + 1],
      acc.box[b + 2],
      acc.box[b + 3],
      acc.box[b + 4],
      acc.box[b + 5],
    ];
    const centroidVoxel: Vec3 = [acc.sumI[label] / n, acc.sumJ[label] / n, acc.sumK[label] / n];
    result.push({
      label,
      voxels: n,
      volumeMl: n * voxelMl,
      intensity: withIntensity ? intensityOf(acc, label) : null,
      boxVoxels,
      boxWorld: worldBox(labels, boxVoxels),
      centroidVoxel,
      centroidWorld: transformPoint(labels.affine, centroidVoxel),
    });
  }
  return result;
}

function intensityOf(acc: Accumulators, label: number): IntensityStatistics {
  const n = acc.valueCount[label];
  if (n === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN };
  const meanShifted = acc.sum[label] / n;
  const variance = Math.max(0, acc.sumSquares[label] / n - meanShifted * meanShifted);
  return { mean: acc.shift[label] + meanShifted, std: Math.sqrt(variance), min: acc.min[label], max: acc.max[label] };
}

/** Min and max over the world positions of the box's 8 corner voxel centres. */
export function worldBox(grid: Pick<Volume, 'affine'>, box: VoxelBox): { min: Vec3; max: Vec3 } {
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (let corner = 0; corner < 8; corner++) {
    const p = transformPoint(grid.affine, [
      corner & 1 ? box[3] : box[0],
      corner & 2 ? box[4] : box[1],
      corner & 4 ? box[5] : box[2],
    ]);
    for (let a = 0; a < 3; a++) {
      if (p[a] < min[a]) min[a] = p[a];
      if (p[a] > max[a]) max[a] = p[a];
    }
  }
  return { min, max };
}
