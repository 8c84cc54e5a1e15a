/**
 * Slice stacking and the voxel-to-world affine, following ITK, dcm2niix and nibabel: i runs along
 * a row (the row cosine), j down the columns (the column cosine), k along the slice normal
 * row x col with slices sorted by their position projected on that normal.
 */
import type { Vec3 } from '../../core/affine.js';
import { flipRasLps } from '../../core/affine.js';
import { MedparseError } from '../../core/errors.js';

export interface PlacedSlice {
  position: Vec3;
  /** ImageOrientationPatient: row cosine (3) then column cosine (3), LPS. */
  orientation: readonly number[];
  /** For messages: the file this slice came from. */
  name: string;
}

export interface StackGeometry {
  /** Indices into the input slices, in k order. */
  order: number[];
  /** Voxel-to-world, RAS+ mm, row-major 4x4. */
  affine: number[];
  /** Distance between consecutive slices along k, mm. */
  sliceSpacing: number;
}

/** Cosines may differ by the rounding of their decimal strings, nothing more. */
const ORIENTATION_TOLERANCE = 1e-4;
/** Gaps may differ by 1% (or 1 micrometre) before the series counts as unevenly spaced. */
const RELATIVE_GAP_TOLERANCE = 0.01;
export const ABSOLUTE_GAP_TOLERANCE = 1e-3;
/** Sideways drift of the stack, relative to its length, beyond which slices are sheared (tilt). */
const SHEAR_TOLERANCE = 1e-3;

/**
 * @param pixelSpacing PixelSpacing as stored: [distance between rows, distance between columns].
 * @param singleSliceThickness k spacing when there is only one slice.
 */
export function stackGeometry(
  slices: readonly PlacedSlice[],
  pixelSpacing: readonly [number, number],
  singleSliceThickness: number,
  seriesPath: string,
): StackGeometry {
  const { row, column } = commonOrientation(slices, seriesPath);
  const normal = cross(row, column);
  const distances = slices.map((slice) => dot(slice.position, normal));
  const order = distances.map((_, i) => i).sort((a, b) => distances[a] - distances[b]);
  const step =
    order.length === 1 ? scale(normal, singleSliceThickness) : stackStep(slices, order, distances, normal, seriesPath);
  const origin = slices[order[0]].position;
  const columnI = scale(row, pixelSpacing[1]);
  const columnJ = scale(column, pixelSpacing[0]);
  // prettier-ignore
  const lps = [
    columnI[0], columnJ[0], step[0], origin[0],
    columnI[1], columnJ[1], step[1], origin[1],
    columnI[2], columnJ[2], step[2], origin[2],
    0, 0, 0, 1,
  ];
  return { order, affine: flipRasLps(lps), sliceSpacing: Math.hypot(...step) };
}

/** Each slice's position along the series' normal (mm), its orientations checked to be one. */
export function distancesAlongNormal(slices: readonly PlacedSlice[], seriesPath: string): number[] {
  const { row, column } = commonOrientation(slices, seriesPath);
  const normal = cross(row, column);
  return slices.map((slice) => dot(slice.position, normal));
}

/** Whether every slice has the first one's ImageOrientationPatient (up to decimal rounding). */
export function sameOrientation(slices: readonly Pick<PlacedSlice, 'orientation'>[]): boolean {
  return differentlyOriented(slices) === undefined;
}

function differentlyOriented<T extends Pick<PlacedSlice, 'orientation'>>(slices: readonly T[]): T | undefined {
  const first = slices[0];
  return slices.find((slice) =>
    slice.orientation.some((value, i) => Math.abs(value - first.orientation[i]) > ORIENTATION_TOLERANCE),
  );
}

function commonOrientation(slices: readonly PlacedSlice[], seriesPath: string): { row: Vec3; column: Vec3 } {
  const first = slices[0];
  const differing = differentlyOriented(slices);
  if (differing) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `the series mixes image orientations (${format(first.orientation)} in ${first.name}, ${format(differing.orientation)} in ${differing.name}), ` +
        'so it is not one 3D volume (a localizer, or several planes in one series); pick another series, or split it with dcm2niix',
      seriesPath,
    );
  }
  const row = normalize(first.orientation.slice(0, 3) as Vec3);
  const column = normalize(first.orientation.slice(3, 6) as Vec3);
  if (Math.abs(dot(row, column)) > 1e-3 || !Number.isFinite(row[0] + column[0])) {
    throw new MedparseError(
      'CORRUPT_FILE',
      `ImageOrientationPatient ${format(first.orientation)} is not two perpendicular unit vectors`,
      first.name,
    );
  }
  return { row, column };
}

/** (P_last - P_first)/(n-1), after checking the stack is evenly spaced and not sheared. */
function stackStep(
  slices: readonly PlacedSlice[],
  order: number[],
  distances: number[],
  normal: Vec3,
  seriesPath: string,
): Vec3 {
  const n = order.length;
  const first = slices[order[0]];
  const last = slices[order[n - 1]];
  const span = distances[order[n - 1]] - distances[order[0]];
  checkDistinctPositions(slices, order, distances, seriesPath);
  checkEvenGaps(slices, order, distances, seriesPath);
  const travel = subtract(last.position, first.position);
  const sideways = Math.hypot(...subtract(travel, scale(normal, dot(travel, normal))));
  if (sideways > SHEAR_TOLERANCE * span + ABSOLUTE_GAP_TOLERANCE) {
    const degrees = (Math.atan2(sideways, span) * 180) / Math.PI;
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `the slices are stacked ${degrees.toFixed(2)} degrees off the image normal (gantry tilt or a sheared acquisition), so they do not form a rectilinear grid; ` +
        'convert with dcm2niix, which corrects gantry tilt, and read the NIfTI',
      seriesPath,
    );
  }
  return scale(travel, 1 / (n - 1));
}

function checkDistinctPositions(
  slices: readonly PlacedSlice[],
  order: number[],
  distances: number[],
  seriesPath: string,
): void {
  const distinct = new Set(order.map((i) => Math.round(distances[i] / ABSOLUTE_GAP_TOLERANCE))).size;
  if (distinct === order.length) return;
  const repeated =
    order.find((i, k) => k > 0 && Math.abs(distances[i] - distances[order[k - 1]]) < ABSOLUTE_GAP_TOLERANCE) ??
    order[0];
  throw new MedparseError(
    'MULTIPLE_VOLUMES',
    `the series has ${order.length} images at only ${distinct} distinct slice positions (e.g. ${slices[repeated].name}), so it holds several volumes ` +
      '(time points, echoes, b-values or a repeated acquisition); split it into one volume per series, e.g. with dcm2niix',
    seriesPath,
  );
}

/** Every gap must match the median gap, so the odd one out is the one reported. */
function checkEvenGaps(slices: readonly PlacedSlice[], order: number[], distances: number[], seriesPath: string): void {
  const gaps = order.slice(1).map((i, k) => distances[i] - distances[order[k]]);
  const typical = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  const tolerance = Math.max(RELATIVE_GAP_TOLERANCE * typical, ABSOLUTE_GAP_TOLERANCE);
  const k = gaps.findIndex((gap) => Math.abs(gap - typical) > tolerance);
  if (k < 0) return;
  const gap = gaps[k];
  const hint =
    gap > 1.5 * typical
      ? `about ${Math.round(gap / typical) - 1} slice(s) seem to be missing there`
      : 'the slice spacing is not uniform';
  throw new MedparseError(
    'INVALID_DIMENSIONS',
    `slices are not evenly spaced: the gap between ${slices[order[k]].name} and ${slices[order[k + 1]].name} is ${gap.toFixed(4)} mm ` +
      `where the other gaps are ${typical.toFixed(4)} mm (${hint}); check that every file of the series was copied, or resample the series to a regular grid`,
    seriesPath,
  );
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function subtract(a: readonly number[], b: readonly number[]): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

function scale(a: readonly number[], factor: number): Vec3 {
  return [a[0] * factor, a[1] * factor, a[2] * factor];
}

/** DS strings carry limited digits, so cosines are re-normalized rather than trusted to be unit. */
function normalize(a: Vec3): Vec3 {
  return scale(a, 1 / Math.hypot(...a));
}

function format(values: readonly number[]): string {
  return `[${values.map((v) => Number(v.toFixed(6))).join(', ')}]`;
}
