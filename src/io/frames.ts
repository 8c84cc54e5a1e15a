import { MedparseError } from '../core/errors.js';

export interface FrameOptions {
  /** Which volume of a 4D file to read (0-based). Required when the file holds more than one. */
  volume?: number;
}

/** Picks the frame to read from a file holding `count` volumes, or explains how to choose one. */
export function chooseFrame(count: number, options: FrameOptions, file: string): number {
  const requested = options.volume;
  if (requested === undefined) {
    if (count === 1) return 0;
    throw new MedparseError(
      'MULTIPLE_VOLUMES',
      `file is 4D with ${count} volumes; choose one with --volume N (0 to ${count - 1})`,
      file,
    );
  }
  if (!Number.isInteger(requested) || requested < 0 || requested >= count) {
    throw new MedparseError(
      'INVALID_ARGUMENT',
      `--volume ${requested} is out of range: the file holds ${count} volume${count === 1 ? '' : 's'} (0 to ${count - 1})`,
      file,
    );
  }
  return requested;
}

/** Largest volume medparse agrees to hold: 2^31 voxels (e.g. 1024x1024x2048). */
export const MAX_VOXELS = 2 ** 31;

export function checkDimensions(dims: readonly number[], file: string): void {
  if (dims.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `dimensions ${dims.join('x')} are invalid: each must be a whole number >= 1`,
      file,
    );
  }
  const total = dims.reduce((a, b) => a * b, 1);
  if (total > MAX_VOXELS) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `dimensions ${dims.join('x')} (${total.toExponential(2)} voxels) exceed medparse's limit of ${MAX_VOXELS} voxels; the header is probably corrupt`,
      file,
    );
  }
}

/**
 * An affine a reader hands on must place every voxel somewhere: finite, and invertible (a zero
 * column would put a whole axis on one point and every later resampling would divide by zero).
 */
export function checkAffine(affine: number[], source: string, file: string): number[] {
  if (affine.some((v) => !Number.isFinite(v)))
    throw new MedparseError('CORRUPT_FILE', `${source} holds values that are not numbers (NaN or infinite)`, file);
  const [a, b, c, , d, e, f, , g, h, i] = affine;
  const determinant = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!(Math.abs(determinant) > 1e-12))
    throw new MedparseError(
      'CORRUPT_FILE',
      `${source} maps the voxel grid onto a plane or a line (its 3x3 part is singular), so voxels have no positions`,
      file,
    );
  return affine;
}
