import { transformPoint, type Vec3 } from '../core/affine.js';
import { axisMapping } from '../core/orientation.js';
import type { Dims3, Volume } from '../core/volume.js';
import {
  connectedComponents,
  cropGrid,
  cropToBox,
  findRuns,
  foregroundTest,
  keepLargest,
  labelStatistics,
  linkRuns,
  paintRuns,
  rankComponents,
  removeMinorComponents,
  tightBox,
  type LabelStatistics,
  type RunComponents,
  type VoxelBox,
} from '../ops/index.js';
import type { Box } from '../runtime/preprocess.js';
import { overruled, type Instance, type PromptResult } from './results.js';

/** Components smaller than this are noise, not instances: they are taken out of answers (withoutSpecksDescribed). */
export const MIN_INSTANCE_VOXELS = 10;

/**
 * Islands of an anatomical structure under this share of its largest island are the network's stray
 * responses: they add false volume and dominate HD95. Paired or repeated structures (both kidneys, the
 * ribs) are of similar size and stay.
 */
const STRAY_ISLAND_FRACTION = 0.1;

/**
 * Zeroes, in place, the islands (p > threshold, 26-connected) of a probability map (on `grid`) smaller
 * than STRAY_ISLAND_FRACTION of its largest, or all but the largest for a concept whose calibration found
 * it one connected object (`singleComponent`, nnU-Net's "keep the largest component" chosen per class on
 * training cases). The engine leaves lesions alone (a small metastasis is not noise) unless their
 * calibration found their small islands mostly false (`dropMinorIslands`).
 * Returns the number of voxels dropped.
 */
export function dropStrayIslands(
  probabilities: Float32Array,
  grid: Volume,
  { singleComponent = false, threshold = 0.5 }: { singleComponent?: boolean; threshold?: number } = {},
): number {
  const binary = new Uint8Array(probabilities.length);
  let foreground = 0;
  for (let i = 0; i < probabilities.length; i++) {
    if (probabilities[i] > threshold) {
      binary[i] = 1;
      foreground++;
    }
  }
  if (foreground === 0) return 0; // an absent concept costs no labelling
  const mask = { ...grid, data: binary };
  const kept = singleComponent ? keepLargest(mask, 1, { connectivity: 26 }).data : withoutMinorIslands(mask);
  return zeroOutside(probabilities, kept, threshold);
}

/** A binary mask without its 26-connected islands under STRAY_ISLAND_FRACTION of the largest. */
export function withoutMinorIslands(mask: Volume): Uint8Array {
  return removeMinorComponents(mask, STRAY_ISLAND_FRACTION, { connectivity: 26 }).data as Uint8Array;
}

/** Zeroes, in place, the voxels above `threshold` that `kept` leaves out; returns how many. */
function zeroOutside(probabilities: Float32Array, kept: ArrayLike<number>, threshold: number): number {
  let dropped = 0;
  for (let i = 0; i < probabilities.length; i++) {
    if (probabilities[i] > threshold && !kept[i]) {
      probabilities[i] = 0;
      dropped++;
    }
  }
  return dropped;
}

/**
 * Zeroes, in place, every voxel of a group of probability maps (on `grid`) outside the largest
 * 26-connected piece of their union (p > threshold): parts of one organ (the heart's ventricles and
 * wall) touch each other, while the network's stray responses lie apart. A stray island can outgrow
 * the true structure of one concept (a "right ventricle" 200 mm from the heart), seldom the whole organ.
 * Returns the number of voxels dropped from each map.
 */
export function keepLargestGroupPiece(
  members: readonly Float32Array[],
  grid: Volume,
  { threshold = 0.5 }: { threshold?: number } = {},
): number[] {
  const kept = largestUnionPiece(members, grid, threshold);
  return members.map((probabilities) => (kept ? zeroOutside(probabilities, kept, threshold) : 0));
}

/**
 * The largest 26-connected piece of the union of some maps (each voxel above `threshold` in any of
 * them) on `grid`, as a 0/1 mask; undefined when the union is empty.
 */
export function largestUnionPiece(
  members: ReadonlyArray<ArrayLike<number>>,
  grid: Volume,
  threshold: number,
): Uint8Array | undefined {
  const union = new Uint8Array(grid.dims[0] * grid.dims[1] * grid.dims[2]);
  let foreground = 0;
  for (const values of members) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] > threshold && union[i] === 0) {
        union[i] = 1;
        foreground++;
      }
    }
  }
  if (foreground === 0) return undefined;
  return keepLargest({ ...grid, data: union }, 1, { connectivity: 26 }).data as Uint8Array;
}

export interface MaskDescription {
  statistics: LabelStatistics | undefined;
  instances: Instance[];
  bestSlice: { axis: number; index: number } | null;
}

/**
 * Quantities of a mask (given as 0..255 probabilities, 0 outside) on `volume`'s grid: statistics
 * against the image's intensities (HU for CT), its instances (26-connected components) with their
 * mean probability, sorted by confidence, and the axial slice that shows the most of it.
 */
export function describeMask(probability: Uint8Array, box: Box | null, volume: Volume): MaskDescription {
  if (!box) return NOTHING_DESCRIBED;
  return describeIslands(islandsInBox(probability, box, volume), probability, volume, () => true);
}

const NOTHING_DESCRIBED: MaskDescription = { statistics: undefined, instances: [], bestSlice: null };

/**
 * The mask without its 26-connected islands under MIN_INSTANCE_VOXELS (a copy when there are any), how
 * many voxels went, and describeMask of what is left (or, with `keepSpecks`, of the whole mask): what is
 * left is exactly the union of the instances described. The islands are labelled once for both:
 * removing whole islands changes no other, so the kept ones are the instances describeMask would find
 * on the cleaned mask, ranked and numbered the same.
 */
export function withoutSpecksDescribed(
  probability: Uint8Array,
  box: Box | null,
  volume: Volume,
  { keepSpecks = false }: { keepSpecks?: boolean } = {},
): { probability: Uint8Array; removed: number; description: MaskDescription } {
  if (!box) return { probability, removed: 0, description: NOTHING_DESCRIBED };
  const islands = islandsInBox(probability, box, volume);
  const cleaned = dropSpecks(islands, probability, volume);
  const isInstance = (size: number) => size >= MIN_INSTANCE_VOXELS;
  const description = describeIslands(islands, probability, volume, keepSpecks ? () => true : isInstance);
  return { ...cleaned, description };
}

/**
 * A mask's box and its 26-connected islands there, as runs: labelled once, painted as needed. Nothing
 * is cropped: the runs are found and the statistics read in place, since fresh memory costs a page
 * fault per page first touched.
 */
interface BoxIslands {
  box: Box;
  /** The box as a grid of its own, as cropToBox would give it (for positions and volumes). */
  grid: Omit<Volume, 'data'>;
  linked: RunComponents;
  /** Island id of each run (1 = largest) and each island's size, by id - 1. */
  idOfRun: Int32Array;
  sizes: number[];
}

function islandsInBox(probability: Uint8Array, box: Box, volume: Volume): BoxIslands {
  const linked = linkRuns(findRuns(probability, volume.dims, foregroundTest({}), box), 26);
  const { idOfRun, sizes } = rankComponents(linked);
  return { box, grid: cropGrid(volume, box), linked, idOfRun, sizes };
}

/**
 * The islands `keep` accepts (by size), painted on the box: as 1, or as their ids when `asIds`. Ids
 * stay those of islandsInBox, so kept islands keep their rank. `over`, a painting of the same islands,
 * is painted over when it can hold the ids (the same voxels are written, so it needs no clearing).
 */
function paintIslands(
  islands: BoxIslands,
  keep: (size: number) => boolean,
  asIds: boolean,
  over?: Uint8Array,
): Uint8Array | Uint16Array | Uint32Array {
  const { grid, linked, idOfRun, sizes } = islands;
  const count = sizes.length;
  const voxels = grid.dims[0] * grid.dims[1] * grid.dims[2];
  const out =
    !asIds || count < 256
      ? (over ?? new Uint8Array(voxels))
      : count < 65536
        ? new Uint16Array(voxels)
        : new Uint32Array(voxels);
  const value = idOfRun.map((id) => (keep(sizes[id - 1]) ? (asIds ? id : 1) : 0));
  paintRuns(linked, out, value);
  return out;
}

/**
 * The mask without its islands under MIN_INSTANCE_VOXELS: when there are any, a new mask with the kept
 * runs copied in. The mask lies in its box, so only the box's rows are written: fresh memory costs a
 * page fault per page first touched, which on a chest CT's volume is most of the cost of a full copy.
 */
function dropSpecks(
  islands: BoxIslands,
  probability: Uint8Array,
  volume: Volume,
): { probability: Uint8Array; removed: number } {
  const { box, linked, idOfRun, sizes } = islands;
  const removed = sizes.reduce((sum, size) => (size < MIN_INSTANCE_VOXELS ? sum + size : sum), 0);
  if (removed === 0) return { probability, removed };
  const out = new Uint8Array(probability.length);
  const { rowStart, start, end } = linked.runs;
  const [nx, ny] = volume.dims;
  const boxRows = islands.grid.dims[1];
  for (let row = 0; row < rowStart.length - 1; row++) {
    // row = j + boxRows * k on the box; its first voxel on the volume's grid
    const base = box[0] + nx * (box[1] + (row % boxRows) + ny * (box[2] + Math.floor(row / boxRows)));
    for (let r = rowStart[row]; r < rowStart[row + 1]; r++)
      if (sizes[idOfRun[r] - 1] >= MIN_INSTANCE_VOXELS)
        out.set(probability.subarray(base + start[r], base + end[r]), base + start[r]);
  }
  return { probability: out, removed };
}

/** describeMask of the islands `keep` accepts, from `probability` (on `volume`'s grid). */
function describeIslands(
  islands: BoxIslands,
  probability: Uint8Array,
  volume: Volume,
  keep: (size: number) => boolean,
): MaskDescription {
  const { box, grid } = islands;
  // Everything is computed on the mask's box: the cost follows the object, not the scan.
  const inBox = { intensityBox: box };
  const binary = { ...grid, data: paintIslands(islands, keep, false) as Uint8Array };
  const found = labelStatistics(binary, volume, inBox).find((s) => s.label === 1);
  if (!found) return NOTHING_DESCRIBED;
  const slice = bestSlice(binary.data, binary);
  const ids = { ...grid, data: paintIslands(islands, keep, true, binary.data) };
  const instances = labelStatistics(ids, { ...volume, data: probability }, inBox)
    .filter((s) => s.voxels >= MIN_INSTANCE_VOXELS)
    .map((s) => ({
      id: 0,
      voxels: s.voxels,
      volumeMl: s.volumeMl,
      boxVoxels: shiftBox(s.boxVoxels, box),
      boxWorld: s.boxWorld,
      centroidWorld: s.centroidWorld,
      meanProbability: (s.intensity?.mean ?? 0) / 255,
    }))
    .sort((a, b) => b.meanProbability - a.meanProbability || b.voxels - a.voxels)
    .map((instance, n) => ({ ...instance, id: n + 1 }));
  const statistics = {
    ...found,
    boxVoxels: shiftBox(found.boxVoxels, box),
    centroidVoxel: shiftPoint(found.centroidVoxel, box),
  };
  return { statistics, instances, bestSlice: { axis: slice.axis, index: slice.index + box[slice.axis] } };
}

function shiftBox(b: VoxelBox, by: Box): VoxelBox {
  return [b[0] + by[0], b[1] + by[1], b[2] + by[2], b[3] + by[0], b[4] + by[1], b[5] + by[2]];
}

function shiftPoint(p: Vec3, by: Box): Vec3 {
  return [p[0] + by[0], p[1] + by[1], p[2] + by[2]];
}

/** Calls `visit(from, to)` for the flat index range of each row of `box` (nothing when null). */
export function forEachRowInBox(box: Box | null, dims: Dims3, visit: (from: number, to: number) => void): void {
  if (!box) return;
  const [nx, ny] = dims;
  for (let k = box[2]; k <= box[5]; k++) {
    for (let j = box[1]; j <= box[4]; j++) {
      const row = nx * (j + ny * k);
      visit(row + box[0], row + box[3] + 1);
    }
  }
}

/**
 * The box that bounds a present answer's mask: its statistics' box, which describeMask measures on the
 * same mask; measured here for an answer built without statistics. Null when there is no mask.
 */
export function answerBox(prompt: PromptResult, dims: Dims3): Box | null {
  if (!prompt.probability) return null;
  return prompt.statistics?.boxVoxels ?? tightBox(prompt.probability, dims);
}

function toBinary(probability: Uint8Array): Uint8Array {
  const out = new Uint8Array(probability.length);
  for (let i = 0; i < probability.length; i++) out[i] = probability[i] ? 1 : 0;
  return out;
}

function bestSlice(mask: Uint8Array, volume: Volume): { axis: number; index: number } {
  const axis = axisMapping(volume.affine).worldAxis.indexOf(2);
  const [nx, ny, nz] = volume.dims;
  const counts = new Float64Array(volume.dims[axis]);
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) if (mask[index]) counts[axis === 0 ? i : axis === 1 ? j : k]++;
    }
  }
  let best = 0;
  for (let n = 1; n < counts.length; n++) if (counts[n] > counts[best]) best = n;
  return { axis, index: best };
}

/**
 * A component with at least this share of its voxels across the midline is one structure of both sides
 * (both cerebral hemispheres' white matter, joined by the corpus callosum) and is cut at the midline; one
 * with less is a structure of one side that the midline estimate grazes, kept or left whole.
 */
const STRADDLE_SHARE = 0.1;

/**
 * Keeps what lies on the patient's `side` of the body's midline: each component whose centroid is on that
 * side, and the `side` half of any component that straddles the midline. In RAS+ world coordinates +x
 * points to the patient's right.
 */
export function splitBySide(
  probability: Uint8Array,
  box: Box | null,
  volume: Volume,
  side: 'left' | 'right',
): { probability: Uint8Array; box: Box | null } {
  const out = new Uint8Array(probability.length);
  if (!box) return { probability: out, box: null };
  const crop = cropToBox({ ...volume, data: probability }, box);
  const binary = toBinary(crop.data as Uint8Array);
  const components = connectedComponents({ ...crop, data: binary }, { connectivity: 26 });
  const midline = bodyMidlineX(volume);
  const [nx, ny] = crop.dims;
  // World x is affine in the voxel indices: its row of the crop's affine.
  const [ax, ay, az, a0] = crop.affine;
  const worldX = (i: number, j: number, k: number) => ax * i + ay * j + az * k + a0;
  // Per component: voxel count, voxels on `side`, and the sums of i, j, k for the centroid.
  const sums = new Float64Array(5 * (components.count + 1));
  for (let index = 0; index < binary.length; index++) {
    const id = components.labels[index];
    if (!id) continue;
    const i = index % nx;
    const j = Math.floor(index / nx) % ny;
    const k = Math.floor(index / (nx * ny));
    sums[5 * id] += 1;
    if (isOnSide(worldX(i, j, k), midline, side)) sums[5 * id + 1] += 1;
    sums[5 * id + 2] += i;
    sums[5 * id + 3] += j;
    sums[5 * id + 4] += k;
  }
  const rule = Array.from({ length: components.count + 1 }, (_, id): 'keep' | 'drop' | 'cut' => {
    const n = sums[5 * id];
    if (id === 0 || n === 0) return 'drop';
    const onSide = sums[5 * id + 1];
    if (Math.min(onSide, n - onSide) >= STRADDLE_SHARE * n) return 'cut';
    const centroid = transformPoint(crop.affine, [sums[5 * id + 2] / n, sums[5 * id + 3] / n, sums[5 * id + 4] / n]);
    return isOnSide(centroid[0], midline, side) ? 'keep' : 'drop';
  });
  const kept: Box = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  for (let index = 0; index < binary.length; index++) {
    const verdict = rule[components.labels[index]];
    if (verdict === 'drop') continue;
    const i = index % nx;
    const j = Math.floor(index / nx) % ny;
    const k = Math.floor(index / (nx * ny));
    if (verdict === 'cut' && !isOnSide(worldX(i, j, k), midline, side)) continue;
    out[box[0] + i + volume.dims[0] * (box[1] + j + volume.dims[1] * (box[2] + k))] = crop.data[index];
    kept[0] = Math.min(kept[0], box[0] + i);
    kept[1] = Math.min(kept[1], box[1] + j);
    kept[2] = Math.min(kept[2], box[2] + k);
    kept[3] = Math.max(kept[3], box[0] + i);
    kept[4] = Math.max(kept[4], box[1] + j);
    kept[5] = Math.max(kept[5], box[2] + k);
  }
  return { probability: out, box: kept[3] < 0 ? null : kept };
}

function isOnSide(x: number, midline: number, side: 'left' | 'right'): boolean {
  return side === 'right' ? x > midline : x < midline;
}

const midlineCache = new WeakMap<Volume['data'], number>();

/** World x of the body's centre: the mean position of voxels brighter than the image's mean. */
export function bodyMidlineX(volume: Volume): number {
  const cached = midlineCache.get(volume.data);
  if (cached !== undefined) return cached;
  const x = computeMidlineX(volume);
  midlineCache.set(volume.data, x);
  return x;
}

function computeMidlineX(volume: Volume): number {
  const data = volume.data;
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i];
  mean /= data.length;
  const [nx, ny] = volume.dims;
  let sumI = 0;
  let sumJ = 0;
  let sumK = 0;
  let count = 0;
  for (let index = 0; index < data.length; index++) {
    if (data[index] <= mean) continue;
    sumI += index % nx;
    sumJ += Math.floor(index / nx) % ny;
    sumK += Math.floor(index / (nx * ny));
    count++;
  }
  if (count === 0)
    return transformPoint(
      volume.affine,
      volume.dims.map((n) => (n - 1) / 2),
    )[0];
  return transformPoint(volume.affine, [sumI / count, sumJ / count, sumK / count])[0];
}

/**
 * The answer with a mask a check has taken part of (a contradiction settled against it, a lesion's
 * islands outside its organ): statistics and instances described again and `notes` added; answered
 * absent, overruled with `emptyReason`, where nothing of the mask is left.
 */
export function withNewMask(
  result: PromptResult,
  probability: Uint8Array,
  volume: Volume,
  notes: readonly string[],
  emptyReason: string,
): PromptResult {
  const description = describeMask(probability, result.statistics?.boxVoxels ?? null, volume);
  if (!description.statistics) return overruled(result, emptyReason);
  return {
    ...result,
    probability,
    statistics: description.statistics,
    instances: description.instances,
    notes: [...result.notes, ...notes],
  };
}
