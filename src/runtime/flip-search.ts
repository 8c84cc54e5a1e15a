/**
 * Test-time orientation search for networks that learnt one slice order and handedness (model.json
 * `input.flip_search`): the network runs on the working image flipped along every combination of the
 * listed axes, and the orientation whose masks it is most confident of is kept. The heart network,
 * trained on ACDC stacks ordered base to apex, finds almost no right ventricle in the same stacks
 * ordered apex to base (held-out Dice 0.76 -> 0.11), and a real scan's order is its acquisition's.
 */
import type { Dims3, Volume, VoxelArray } from '../core/volume.js';
import { cropToBox } from '../ops/crop.js';
import { permuteAxes, type Axes3 } from '../ops/reorient.js';
import { WORKING_AXIS_NAMES, type WorkingAxis } from './model-spec.js';
import type { ContentBox, SlidingWindowResult } from './sliding-window.js';

const IDENTITY: Axes3<number> = [0, 1, 2];

/** Every combination of flips along `axes`, the unflipped orientation first. */
export function flipCombinations(axes: readonly WorkingAxis[]): Axes3<boolean>[] {
  const combinations: Axes3<boolean>[] = [];
  for (let bits = 0; bits < 2 ** axes.length; bits++) {
    const flips: Axes3<boolean> = [false, false, false];
    axes.forEach((axis, n) => {
      if (bits & (1 << n)) flips[axis] = true;
    });
    combinations.push(flips);
  }
  return combinations;
}

/** "as given", or the flipped working axes: "flipped x", "flipped x, z". */
export function describeFlips(flips: Axes3<boolean>): string {
  const axes = WORKING_AXIS_NAMES.filter((_, axis) => flips[axis]);
  return axes.length ? `flipped ${axes.join(', ')}` : 'as given';
}

/** A copy of `data` (dims `dims`) flipped along the flagged axes; flipping twice gives the original. */
export function flipped(data: VoxelArray, dims: Dims3, flips: Axes3<boolean>): Float32Array {
  const out = new Float32Array(data.length);
  permuteAxes(data, dims, out, IDENTITY, flips);
  return out;
}

/**
 * How sure the network is of its masks: the mean over maps of the mean probability inside each mask
 * (above `threshold`), an empty mask counting 0. A network shown an orientation it never learnt gives
 * fainter and emptier masks (ACDC: 2.5 to 2.8 in the learnt order against 1.7 to 2.7 reversed, over 3 maps).
 */
export function maskConfidence(maps: readonly Float32Array[], threshold = 0.5): number {
  if (!maps.length) return 0;
  let total = 0;
  for (const map of maps) {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < map.length; i++) {
      if (map[i] > threshold) {
        sum += map[i];
        count++;
      }
    }
    total += count ? sum / count : 0;
  }
  return total / maps.length;
}

export interface OrientationTrial {
  flips: Axes3<boolean>;
  /** The judge's score; NaN when there was only one orientation to run. */
  confidence: number;
}

export interface OrientationSearchResult {
  /** The kept orientation's inference, its probability maps mapped back onto the unflipped image. */
  inference: SlidingWindowResult;
  kept: OrientationTrial;
  trials: OrientationTrial[];
}

export interface FlipSearchOptions {
  /** A crop of the image (its centre, one window) to try and judge the orientations on. */
  probe?: Volume;
  /** With a probe: the region the kept orientation's full pass covers, drawn from the probe's maps. */
  focus?: (probeMaps: readonly Float32Array[]) => ContentBox | undefined;
  /** How much higher than the acquired orientation's another's score must be for it to be kept (default 0). */
  margin?: number;
}

/**
 * Runs `infer` on `image` flipped along each combination of `axes` (the unflipped one alone when `axes`
 * is empty), flips every result's maps back, and keeps the one `judge` scores highest (the earlier of
 * equals), unless it beats the acquired orientation by no more than `margin`: then the acquired one is
 * kept. An orientation-blind network gives the same answer whichever it keeps.
 *
 * With a `probe`, the orientations are tried and judged on the probe and only the kept one runs on the
 * whole image: one full pass instead of one per orientation. `infer` is told the trial (0..of-1) or, for
 * that full pass, `of`. With a `focus` as well, that full pass covers only the region it draws from the
 * kept probe's maps (unflipped image voxels; `infer` gets it in the coordinates of the image it is given).
 */
export async function searchFlips(
  image: Volume,
  axes: readonly WorkingAxis[],
  infer: (image: Volume, trial: number, of: number, region?: ContentBox) => Promise<SlidingWindowResult>,
  judge: (probabilities: readonly Float32Array[]) => number,
  options: FlipSearchOptions = {},
): Promise<OrientationSearchResult> {
  const { probe, focus, margin = 0 } = options;
  const combinations = flipCombinations(axes);
  if (combinations.length === 1) {
    const kept = { flips: combinations[0], confidence: Number.NaN };
    return { inference: await infer(image, 0, 1), kept, trials: [kept] };
  }
  const trials: OrientationTrial[] = [];
  let acquired: { inference: SlidingWindowResult; trial: OrientationTrial } | undefined;
  let best: { inference: SlidingWindowResult; trial: OrientationTrial } | undefined;
  for (const [n, flips] of combinations.entries()) {
    const inference = await inferFlipped(probe ?? image, flips, (v) => infer(v, n, combinations.length));
    const trial = { flips, confidence: judge(inference.probabilities) };
    trials.push(trial);
    if (!acquired) acquired = { inference, trial };
    if (!best || trial.confidence > best.trial.confidence) best = { inference, trial };
  }
  const leader = best as { inference: SlidingWindowResult; trial: OrientationTrial };
  const first = acquired as { inference: SlidingWindowResult; trial: OrientationTrial };
  const kept = leader.trial.confidence > first.trial.confidence + margin ? leader : first;
  const region = probe ? focus?.(kept.inference.probabilities) : undefined;
  const flips = kept.trial.flips;
  const inference = probe
    ? await inferFlipped(image, flips, (v) =>
        infer(v, combinations.length, combinations.length, region && flipRegion(region, image.dims, flips)),
      )
    : kept.inference;
  return { inference, kept: kept.trial, trials };
}

/** `infer` on the image flipped by `flips`, its maps flipped back onto the image. */
async function inferFlipped(
  image: Volume,
  flips: Axes3<boolean>,
  infer: (image: Volume) => Promise<SlidingWindowResult>,
): Promise<SlidingWindowResult> {
  if (flips.every((f) => !f)) return infer(image);
  const inference = await infer({ ...image, data: flipped(image.data, image.dims, flips) });
  inference.probabilities = inference.probabilities.map((map) => flipped(map, image.dims, flips));
  return inference;
}

/** Where the central probe of `patch` lies in an image of `dims`: its first voxel and its size. */
export function probePlacement(dims: Dims3, patch: Dims3): { start: Dims3; size: Dims3 } {
  const size = dims.map((n, a) => Math.min(n, patch[a])) as Dims3;
  const start = dims.map((n, a) => Math.floor((n - size[a]) / 2)) as Dims3;
  return { start, size };
}

/** The centre of `image`, at most one `patch` in size: where an orientation search judges a stack. */
export function centralProbe(image: Volume, patch: Dims3): Volume {
  const { start, size } = probePlacement(image.dims, patch);
  return cropToBox(image, [
    start[0],
    start[1],
    start[2],
    start[0] + size[0] - 1,
    start[1] + size[1] - 1,
    start[2] + size[2] - 1,
  ]);
}

/**
 * The part of the image a full pass must cover, from a central probe's maps: the box around every
 * probe voxel any map puts above `threshold`, grown by `margin` voxels per axis and clamped to the
 * image, and reaching the image's edge on every side where the masks touch the probe's own edge (the
 * object may go on beyond what the probe saw). Undefined, so the whole image, when the probe found
 * nothing. For heart-mr on a cine stack, whose field of view is mostly chest around a centred heart,
 * this runs 8 windows instead of 18 on a 256x256x13 MS-CMRSeg stack.
 */
export function focusRegion(
  maps: readonly Float32Array[],
  dims: Dims3,
  patch: Dims3,
  margin: Dims3,
  threshold = 0.5,
): ContentBox | undefined {
  const { start, size } = probePlacement(dims, patch);
  const lo: Dims3 = [size[0], size[1], size[2]];
  const hi: Dims3 = [-1, -1, -1];
  for (const map of maps) {
    let index = 0;
    for (let z = 0; z < size[2]; z++)
      for (let y = 0; y < size[1]; y++)
        for (let x = 0; x < size[0]; x++, index++) {
          if (!(map[index] > threshold)) continue;
          // no per-voxel array: this runs over every voxel the probe's masks hold
          if (x < lo[0]) lo[0] = x;
          if (x > hi[0]) hi[0] = x;
          if (y < lo[1]) lo[1] = y;
          if (y > hi[1]) hi[1] = y;
          if (z < lo[2]) lo[2] = z;
          if (z > hi[2]) hi[2] = z;
        }
  }
  if (hi[0] < 0) return undefined;
  const region: ContentBox = { lo: [0, 0, 0], hi: [0, 0, 0] };
  for (let a = 0; a < 3; a++) {
    const touchesLow = lo[a] === 0 && start[a] > 0;
    const touchesHigh = hi[a] === size[a] - 1 && start[a] + size[a] < dims[a];
    region.lo[a] = touchesLow ? 0 : Math.max(0, start[a] + lo[a] - margin[a]);
    region.hi[a] = touchesHigh ? dims[a] - 1 : Math.min(dims[a] - 1, start[a] + hi[a] + margin[a]);
  }
  return region;
}

/** `region` (voxel bounds in an image of `dims`) in the same image flipped along the flagged axes. */
export function flipRegion(region: ContentBox, dims: Dims3, flips: Axes3<boolean>): ContentBox {
  const lo = [0, 1, 2].map((a) => (flips[a] ? dims[a] - 1 - region.hi[a] : region.lo[a])) as Dims3;
  const hi = [0, 1, 2].map((a) => (flips[a] ? dims[a] - 1 - region.lo[a] : region.hi[a])) as Dims3;
  return { lo, hi };
}
