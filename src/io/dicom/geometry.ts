/**
 * Slice stacking and the voxel-to-world affine, following ITK, dcm2niix and nibabel: i runs along
 * a row (the row cosine), j down the columns (the column cosine), k along the slice normal
 * row x col with slices sorted by their position projected on that normal.
 *
 * A gantry-tilted stack (each slice shifted sideways in proportion to its height) is kept as acquired:
 * k then steps from slice to slice, off the normal, and the affine is sheared. Nothing is resampled, so
 * voxel (i, j, k) stays pixel (i, j) of slice k and masks lie on the acquired slices.
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
  /**
   * Distance between consecutive slice planes, along the normal, mm (DICOM's SpacingBetweenSlices). On a
   * tilted stack the affine's k column is longer: it runs from slice to slice along the tilt.
   */
  sliceSpacing: number;
  /** Angle between the k column and the image normal, degrees: the gantry tilt; 0 for a straight stack. */
  tiltDegrees: number;
}

/** Cosines may differ by the rounding of their decimal strings, nothing more. */
const ORIENTATION_TOLERANCE = 1e-4;
/** Gaps may differ by 1% (or 1 micrometre) before the series counts as unevenly spaced. */
const RELATIVE_GAP_TOLERANCE = 0.01;
export const ABSOLUTE_GAP_TOLERANCE = 1e-3;
/** Sideways drift of the stack, relative to its length, beyond which slices are sheared (tilt). */
const SHEAR_TOLERANCE = 1e-3;
/** Gantries tilt by up to about 30 degrees; a stack further off its normal is not a tilt. */
export const MAX_TILT_DEGREES = 45;

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
  return {
    order,
    affine: flipRasLps(lps),
    sliceSpacing: Math.abs(dot(step, normal)),
    tiltDegrees: tiltOf(slices, order, distances, normal),
  };
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

/** (P_last - P_first)/(n-1), after checking the slices are evenly spaced and lie on one straight line. */
function stackStep(
  slices: readonly PlacedSlice[],
  order: number[],
  distances: number[],
  normal: Vec3,
  seriesPath: string,
): Vec3 {
  checkDistinctPositions(slices, order, distances, seriesPath);
  checkEvenGaps(slices, order, distances, seriesPath);
  checkPlausibleTilt(slices, order, distances, normal, seriesPath);
  checkStraightDrift(slices, order, distances, normal, seriesPath);
  const travel = subtract(slices[order[order.length - 1]].position, slices[order[0]].position);
  return scale(travel, 1 / (order.length - 1));
}

/** The part of `v` that lies in the image plane (perpendicular to the normal). */
function sideways(v: Vec3, normal: Vec3): Vec3 {
  return subtract(v, scale(normal, dot(v, normal)));
}

/**
 * Angle (degrees) between the stack's direction, first slice to last, and the image normal; 0 when the
 * sideways drift is within rounding of the positions, so that only a real tilt is reported.
 */
function tiltOf(slices: readonly PlacedSlice[], order: number[], distances: number[], normal: Vec3): number {
  if (order.length < 2) return 0;
  const span = distances[order[order.length - 1]] - distances[order[0]];
  const travel = subtract(slices[order[order.length - 1]].position, slices[order[0]].position);
  const drift = Math.hypot(...sideways(travel, normal));
  if (drift <= SHEAR_TOLERANCE * span + ABSOLUTE_GAP_TOLERANCE) return 0;
  return (Math.atan2(drift, span) * 180) / Math.PI;
}

/** A stack far off its normal is not a gantry tilt but a mislabelled or mixed series. */
function checkPlausibleTilt(
  slices: readonly PlacedSlice[],
  order: number[],
  distances: number[],
  normal: Vec3,
  seriesPath: string,
): void {
  const degrees = tiltOf(slices, order, distances, normal);
  if (degrees <= MAX_TILT_DEGREES) return;
  throw new MedparseError(
    'UNSUPPORTED_FORMAT',
    `the slices are stacked ${degrees.toFixed(1)} degrees off the image normal, more than the ${MAX_TILT_DEGREES} degrees a gantry tilt can be; ` +
      'the image orientation or positions are probably wrong, or the series mixes acquisitions; check ImageOrientationPatient and ImagePositionPatient',
    seriesPath,
  );
}

/**
 * A tilted stack is one sheared grid only if its sideways drift grows in proportion to the distance
 * along the normal: each slice must lie on the line from the first slice to the last, within the gap
 * tolerance. (The distance along the normal is checkEvenGaps' to judge.)
 */
function checkStraightDrift(
  slices: readonly PlacedSlice[],
  order: number[],
  distances: number[],
  normal: Vec3,
  seriesPath: string,
): void {
  const n = order.length;
  const first = slices[order[0]].position;
  const span = distances[order[n - 1]] - distances[order[0]];
  const drift = sideways(subtract(slices[order[n - 1]].position, first), normal);
  const tolerance = Math.max((RELATIVE_GAP_TOLERANCE * span) / (n - 1), ABSOLUTE_GAP_TOLERANCE);
  const offLine = (i: number) => {
    const expected = scale(drift, (distances[i] - distances[order[0]]) / span);
    return Math.hypot(...subtract(sideways(subtract(slices[i].position, first), normal), expected));
  };
  const off = order.map(offLine);
  const largest = Math.max(...off);
  if (largest <= tolerance) return;
  const worst = order[off.indexOf(largest)];
  throw new MedparseError(
    'INVALID_DIMENSIONS',
    `the slices do not lie on one straight line: ${slices[worst].name} is ${largest.toFixed(4)} mm sideways of the line from ${slices[order[0]].name} to ${slices[order[n - 1]].name} ` +
      `(at most ${tolerance.toFixed(4)} mm allowed), so the stack drifts non-linearly and is neither a straight nor a uniformly tilted grid; ` +
      'check that the files are one acquisition, or resample the series to a regular grid',
    seriesPath,
  );
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
