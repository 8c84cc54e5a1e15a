/**
 * Intensity normalisation: CT windowing, MR percentile clipping and z-scoring, all to Float32Array.
 * Percentiles use numpy's default definition (linear interpolation between order statistics at
 * p/100 * (n - 1)) and are exact, but found through histograms rather than a full sort: integer data
 * with a modest range take one counting pass; other data narrow the value range bin by bin until few
 * enough values remain to sort. NaN voxels are ignored everywhere.
 */
import type { Volume, VoxelArray } from '../core/volume.js';
import { checkDataLength, checkVolume, invalidArgument } from './grid.js';

/** Which voxels count: those where `mask` is nonzero, and/or those whose value is nonzero. */
export interface VoxelSelection {
  mask?: VoxelArray;
  nonzero?: boolean;
}

/** A CT window as bounds, or as centre (level) and width: [centre - width/2, centre + width/2]. */
export type IntensityWindow = { min: number; max: number } | { centre: number; width: number };

/** Integer data whose range has at most this many values are counted exactly, one bin per value. */
const MAX_EXACT_BINS = 1 << 20;
/** Bins of one narrowing pass for float data. */
const NARROWING_BINS = 1 << 16;
/** Once this few values are left in the range that holds the wanted rank, they are sorted. */
const SORT_LIMIT = 1 << 16;

/** Clips to the window and maps it linearly onto `range` (default [0, 1]). */
export function windowIntensities(volume: Volume, window: IntensityWindow, range: [number, number] = [0, 1]): Volume {
  checkVolume(volume, 'windowIntensities');
  const [low, high] =
    'min' in window ? [window.min, window.max] : [window.centre - window.width / 2, window.centre + window.width / 2];
  if (!(high > low)) throw invalidArgument(`windowIntensities: window [${low}, ${high}] is empty`);
  return floatVolume(volume, clipAndScale(volume.data, low, high, range));
}

export interface PercentileClipOptions extends VoxelSelection {
  /** Percentiles (0..100) of the clip bounds; default 0.5 and 99.5. */
  lower?: number;
  upper?: number;
  /** Map [low, high] linearly onto this range; by default values are only clipped. */
  range?: [number, number];
}

/** Clips to percentiles of the selected voxels (all voxels are clipped); float32 out. */
export function clipPercentiles(
  volume: Volume,
  options: PercentileClipOptions = {},
): { volume: Volume; low: number; high: number } {
  checkVolume(volume, 'clipPercentiles');
  const [low, high] = percentiles(volume.data, [options.lower ?? 0.5, options.upper ?? 99.5], options);
  if (Number.isNaN(low)) throw invalidArgument('clipPercentiles: no voxels are selected');
  const out =
    options.range && high > low ? clipAndScale(volume.data, low, high, options.range) : clip(volume.data, low, high);
  return { volume: floatVolume(volume, out), low, high };
}

export interface ZScoreOptions extends VoxelSelection {
  /** Clip to these percentiles (of the selected voxels) before computing the mean and std. */
  clipPercentiles?: [number, number];
}

/**
 * (value - mean) / std over the selected voxels (population std, floored at 1e-8). With a mask or
 * `nonzero`, unselected voxels become 0, as nnU-Net's use_mask_for_norm; otherwise all are scaled.
 */
export function zScore(volume: Volume, options: ZScoreOptions = {}): { volume: Volume; mean: number; std: number } {
  checkVolume(volume, 'zScore');
  if (options.mask) checkDataLength(options.mask, volume.data.length, 'zScore mask');
  // The selection refers to the original values (clipping may turn zeros into nonzeros), so fix it first.
  const selected =
    options.mask !== undefined || options.nonzero === true ? selectionMask(volume.data, options) : undefined;
  const out = options.clipPercentiles
    ? clip(volume.data, ...bounds(percentiles(volume.data, options.clipPercentiles, options)))
    : Float32Array.from(volume.data);
  const { mean, std } = meanAndStd(out, selected ? { mask: selected } : {});
  if (Number.isNaN(mean)) throw invalidArgument('zScore: no voxels are selected');
  const scale = 1 / Math.max(std, 1e-8);
  for (let i = 0; i < out.length; i++) {
    out[i] = selected !== undefined && selected[i] === 0 ? 0 : (out[i] - mean) * scale;
  }
  return { volume: floatVolume(volume, out), mean, std };
}

/** A uint8 mask of the selected voxels (NaN excluded). */
export function selectionMask(data: VoxelArray, selection: VoxelSelection): Uint8Array {
  const mask = selection.mask;
  const nonzero = selection.nonzero === true;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = (mask !== undefined && mask[i] === 0) || (nonzero && v === 0) || v !== v ? 0 : 1;
  }
  return out;
}

function bounds(values: number[]): [number, number] {
  return [values[0], values[1]];
}

/** Mean and population std of the selected voxels (two passes, for accuracy on float data). */
export function meanAndStd(
  data: VoxelArray,
  selection: VoxelSelection = {},
): { mean: number; std: number; count: number } {
  const mask = selection.mask;
  const nonzero = selection.nonzero === true;
  if (mask) checkDataLength(mask, data.length, 'selection mask');
  let sum = 0;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((mask !== undefined && mask[i] === 0) || (nonzero && v === 0) || v !== v) continue;
    sum += v;
    count++;
  }
  if (count === 0) return { mean: NaN, std: NaN, count };
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((mask !== undefined && mask[i] === 0) || (nonzero && v === 0) || v !== v) continue;
    squares += (v - mean) * (v - mean);
  }
  return { mean, std: Math.sqrt(squares / count), count };
}

/** The p-th percentile (0..100) of the selected voxels; NaN when none are selected. */
export function percentile(data: VoxelArray, p: number, selection: VoxelSelection = {}): number {
  return percentiles(data, [p], selection)[0];
}

/** Several percentiles at once (the counting passes are shared where they can be). */
export function percentiles(data: VoxelArray, ps: readonly number[], selection: VoxelSelection = {}): number[] {
  for (const p of ps) if (!(p >= 0 && p <= 100)) throw invalidArgument(`percentile ${p} is not within 0..100`);
  if (selection.mask) checkDataLength(selection.mask, data.length, 'selection mask');
  const small = smallIntegerRange(data);
  if (small) {
    const counts =
      selection.mask === undefined && selection.nonzero !== true
        ? countValues(data, small.offset, small.bins)
        : histogram(data, selection, -small.offset, small.bins - 1 - small.offset, small.bins, 1);
    return percentilesFromCounts(counts, -small.offset, ps);
  }
  const summary = summarize(data, selection);
  if (summary.count === 0) return ps.map(() => NaN);
  const values = orderStatistics(data, selection, ranksFor(ps, summary.count), summary);
  return interpolate(ps, summary.count, values);
}

/** The order statistics that numpy-style percentiles interpolate between, ascending. */
function ranksFor(ps: readonly number[], count: number): number[] {
  const ranks = new Set<number>();
  for (const p of ps) {
    const position = (p / 100) * (count - 1);
    ranks.add(Math.floor(position));
    ranks.add(Math.ceil(position));
  }
  return [...ranks].sort((a, b) => a - b);
}

function interpolate(ps: readonly number[], count: number, values: Map<number, number>): number[] {
  return ps.map((p) => {
    const position = (p / 100) * (count - 1);
    const below = values.get(Math.floor(position)) ?? NaN;
    const above = values.get(Math.ceil(position)) ?? NaN;
    return below + (above - below) * (position - Math.floor(position));
  });
}

/** 8- and 16-bit integer data fit one bin per possible value, so one counting pass answers all. */
function smallIntegerRange(data: VoxelArray): { offset: number; bins: number } | null {
  if (data instanceof Uint8Array) return { offset: 0, bins: 256 };
  if (data instanceof Int8Array) return { offset: 128, bins: 256 };
  if (data instanceof Uint16Array) return { offset: 0, bins: 65536 };
  if (data instanceof Int16Array) return { offset: 32768, bins: 65536 };
  return null;
}

/** Per-value counts of all voxels of 8/16-bit integer data (the hot case: no selection, no NaN). */
function countValues(data: VoxelArray, offset: number, bins: number): Uint32Array {
  const counts = new Uint32Array(bins);
  for (let i = 0; i < data.length; i++) counts[data[i] + offset]++;
  return counts;
}

/** Percentiles from per-value counts, where bin b holds the value `first + b`. */
function percentilesFromCounts(counts: Uint32Array, first: number, ps: readonly number[]): number[] {
  let count = 0;
  for (let b = 0; b < counts.length; b++) count += counts[b];
  if (count === 0) return ps.map(() => NaN);
  return interpolate(ps, count, valuesOfRanks(counts, first, ranksFor(ps, count)));
}

function valuesOfRanks(counts: Uint32Array, first: number, ranks: number[]): Map<number, number> {
  const result = new Map<number, number>();
  let cumulative = 0;
  let r = 0;
  for (let bin = 0; bin < counts.length && r < ranks.length; bin++) {
    cumulative += counts[bin];
    while (r < ranks.length && ranks[r] < cumulative) result.set(ranks[r++], first + bin);
  }
  return result;
}

interface Summary {
  count: number;
  min: number;
  max: number;
}

function summarize(data: VoxelArray, selection: VoxelSelection): Summary {
  const mask = selection.mask;
  const nonzero = selection.nonzero === true;
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((mask !== undefined && mask[i] === 0) || (nonzero && v === 0) || v !== v) continue;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { count, min, max };
}

function isIntegerData(data: VoxelArray): boolean {
  return !(data instanceof Float32Array || data instanceof Float64Array);
}

/** The values of the given 0-based ranks (ascending) among the selected voxels. */
function orderStatistics(
  data: VoxelArray,
  selection: VoxelSelection,
  ranks: number[],
  summary: Summary,
): Map<number, number> {
  if (isIntegerData(data) && summary.max - summary.min < MAX_EXACT_BINS) {
    // One bin per integer value: the cumulative counts give every rank directly.
    return valuesOfRanks(
      histogram(data, selection, summary.min, summary.max, summary.max - summary.min + 1, 1),
      summary.min,
      ranks,
    );
  }
  const result = new Map<number, number>();
  for (const rank of ranks) result.set(rank, kthValue(data, selection, rank, summary.min, summary.max, summary.count));
  return result;
}

/** Counts of the selected values in [low, high], bin = floor((v - low) * scale) clamped to the last. */
function histogram(
  data: VoxelArray,
  selection: VoxelSelection,
  low: number,
  high: number,
  bins: number,
  scale: number,
): Uint32Array {
  const mask = selection.mask;
  const nonzero = selection.nonzero === true;
  const counts = new Uint32Array(bins);
  const last = bins - 1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((mask !== undefined && mask[i] === 0) || (nonzero && v === 0) || !(v >= low && v <= high)) continue;
    const bin = Math.floor((v - low) * scale);
    counts[bin > last ? last : bin]++;
  }
  return counts;
}

/**
 * The k-th smallest (0-based) selected value within [low, high], which holds `count` selected values.
 * Each round histograms the range, keeps the bin holding rank k and narrows the range to the exact
 * min and max of that bin's values (bins are monotone in value, so they form a contiguous range).
 */
function kthValue(
  data: VoxelArray,
  selection: VoxelSelection,
  k: number,
  low: number,
  high: number,
  count: number,
): number {
  for (;;) {
    if (low === high) return low;
    if (count <= SORT_LIMIT) return sortedPick(data, selection, low, high, count, k);
    const scale = NARROWING_BINS / (high - low);
    const counts = histogram(data, selection, low, high, NARROWING_BINS, scale);
    let bin = 0;
    while (k >= counts[bin]) k -= counts[bin++];
    count = counts[bin];
    [low, high] = binRange(data, selection, low, high, scale, bin);
  }
}

function binRange(
  data: VoxelArray,
  selection: VoxelSelection,
  low: number,
  high: number,
  scale: number,
  wanted: number,
): [number, number] {
  const mask = selection.mask;
  const nonzero = selection.nonzero === true;
  const last = NARROWING_BINS - 1;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((mask !== undefined && mask[i] === 0) || (nonzero && v === 0) || !(v >= low && v <= high)) continue;
    const bin = Math.min(Math.floor((v - low) * scale), last);
    if (bin !== wanted) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

function sortedPick(
  data: VoxelArray,
  selection: VoxelSelection,
  low: number,
  high: number,
  count: number,
  k: number,
): number {
  const mask = selection.mask;
  const nonzero = selection.nonzero === true;
  const values = new Float64Array(count);
  let n = 0;
  for (let i = 0; i < data.length && n < count; i++) {
    const v = data[i];
    if ((mask !== undefined && mask[i] === 0) || (nonzero && v === 0) || !(v >= low && v <= high)) continue;
    values[n++] = v;
  }
  values.sort();
  return values[k];
}

function clip(data: VoxelArray, low: number, high: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = v < low ? low : v > high ? high : v;
  }
  return out;
}

function clipAndScale(data: VoxelArray, low: number, high: number, range: [number, number]): Float32Array {
  const out = new Float32Array(data.length);
  const scale = (range[1] - range[0]) / (high - low);
  const base = range[0];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const clipped = v < low ? low : v > high ? high : v;
    out[i] = base + (clipped - low) * scale;
  }
  return out;
}

function floatVolume(like: Volume, data: Float32Array): Volume {
  return { dims: [...like.dims], affine: [...like.affine], data, meta: { ...like.meta } };
}
