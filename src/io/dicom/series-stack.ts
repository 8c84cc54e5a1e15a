/**
 * A cine stored one series per slice position, as Siemens stores a short-axis cine: every slice position's
 * time points are a series of their own, so no single series is a volume. Such series are read together
 * when they are one stack: the same study, frame of reference, image orientation and grid, the same number
 * of images each, each series at one position and no two at the same one. The reader then splits the
 * stack into time points as it does a cine stored as one series.
 */
import type { Vec3 } from '../../core/affine.js';
import { ABSOLUTE_GAP_TOLERANCE, distancesAlongNormal, sameOrientation } from './geometry.js';
import type { SliceRecord } from './slice.js';

type Placed = SliceRecord & { position: Vec3; orientation: number[] };

/** The series' images as one stack, or undefined when they are not one (fewer than 2 series, too). */
export function seriesAsOneStack(groups: readonly SliceRecord[][]): SliceRecord[] | undefined {
  if (groups.length < 2) return undefined;
  const slices = groups.flat();
  if (!slices.every(isPlaced) || !sameOrientation(slices)) return undefined;
  const first = slices[0];
  const alike = (slice: SliceRecord) =>
    slice.series.studyInstanceUid === first.series.studyInstanceUid &&
    slice.series.frameOfReferenceUid === first.series.frameOfReferenceUid &&
    slice.layout.rows === first.layout.rows &&
    slice.layout.columns === first.layout.columns;
  if (!slices.every(alike) || groups.some((group) => group.length !== groups[0].length)) return undefined;
  const distances = alongNormal(slices);
  if (!distances) return undefined;
  const positionOf: number[] = [];
  let offset = 0;
  for (const group of groups) {
    const own = distances.slice(offset, offset + group.length);
    offset += group.length;
    if (own.some((d) => Math.abs(d - own[0]) >= ABSOLUTE_GAP_TOLERANCE)) return undefined;
    positionOf.push(own[0]);
  }
  const sorted = [...positionOf].sort((a, b) => a - b);
  if (sorted.some((d, n) => n > 0 && d - sorted[n - 1] < ABSOLUTE_GAP_TOLERANCE)) return undefined;
  return slices;
}

/**
 * The largest set of series (2 or more) in the input that form one stack, for a hint when the input holds
 * other series too (localizers, long-axis views); undefined when there is none.
 */
export function largestSeriesStack(groups: readonly SliceRecord[][]): SliceRecord[][] | undefined {
  const candidates = new Map<string, SliceRecord[][]>();
  for (const group of groups) {
    const [first] = group;
    if (!isPlaced(first)) continue;
    const key = [
      first.series.studyInstanceUid,
      first.layout.columns,
      first.layout.rows,
      group.length,
      ...first.orientation.map((c) => c.toFixed(3)),
    ].join('|');
    candidates.set(key, [...(candidates.get(key) ?? []), group]);
  }
  const stacks = [...candidates.values()].filter((set) => seriesAsOneStack(set) !== undefined);
  return stacks.sort((a, b) => b.length - a.length)[0];
}

/** Positions along the common normal; undefined when the orientation is not two perpendicular unit vectors. */
function alongNormal(slices: readonly Placed[]): number[] | undefined {
  const placed = slices.map((slice) => ({
    position: slice.position,
    orientation: slice.orientation,
    name: slice.source.name,
  }));
  try {
    return distancesAlongNormal(placed, slices[0].source.name);
  } catch {
    return undefined; // such a series is refused, with the reason, when it is read alone
  }
}

function isPlaced(slice: SliceRecord): slice is Placed {
  return slice.position !== undefined && slice.orientation !== undefined;
}
