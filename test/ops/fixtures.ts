/** Small volumes with known answers for the ops tests. */
import { transformPoint, type Mat4, type Vec3 } from '../../src/core/affine.js';
import type { Dims3, Volume, VoxelArray } from '../../src/core/volume.js';

export function volumeOf(dims: Dims3, affine: Mat4, data: VoxelArray): Volume {
  return { dims, affine: [...affine], data, meta: { sourceFormat: 'generated', modality: 'unknown' } };
}

/** A volume whose voxel values come from `value(i, j, k)`. */
export function filled(
  dims: Dims3,
  affine: Mat4,
  data: VoxelArray,
  value: (i: number, j: number, k: number) => number,
): Volume {
  const [nx, ny, nz] = dims;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = value(i, j, k);
  return volumeOf(dims, affine, data);
}

/** Diagonal affine with the given signed spacings and origin. */
export function diagonalAffine(spacing: Vec3, origin: Vec3 = [0, 0, 0]): number[] {
  return [spacing[0], 0, 0, origin[0], 0, spacing[1], 0, origin[1], 0, 0, spacing[2], origin[2], 0, 0, 0, 1];
}

/**
 * An affine whose voxel axis c runs along column `axes[c]` of a rotation by the given angles
 * (radians, about x, y, z), scaled by spacing[c]; `axes` permutes world axes for LIA-like layouts.
 */
export function obliqueAffine(
  spacing: Vec3,
  angles: Vec3,
  origin: Vec3,
  axes: Vec3 = [0, 1, 2],
  signs: Vec3 = [1, 1, 1],
): number[] {
  const [a, b, c] = angles;
  const rx = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const ry = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)];
  const rz = [Math.cos(c), -Math.sin(c), 0, Math.sin(c), Math.cos(c), 0, 0, 0, 1];
  const r = mul3(rz, mul3(ry, rx));
  const m = [0, 0, 0, origin[0], 0, 0, 0, origin[1], 0, 0, 0, origin[2], 0, 0, 0, 1];
  for (let col = 0; col < 3; col++) {
    for (let row = 0; row < 3; row++) m[row * 4 + col] = r[row * 3 + axes[col]] * spacing[col] * signs[col];
  }
  return m;
}

function mul3(a: number[], b: number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) out[r * 3 + c] += a[r * 3 + k] * b[k * 3 + c];
  return out;
}

export function at(volume: Volume, i: number, j: number, k: number): number {
  return volume.data[i + volume.dims[0] * (j + volume.dims[1] * k)];
}

export function worldOf(volume: Pick<Volume, 'affine'>, i: number, j: number, k: number): Vec3 {
  return transformPoint(volume.affine, [i, j, k]);
}

export function assertClose(
  actual: readonly number[],
  expected: readonly number[],
  tolerance: number,
  what: string,
): void {
  if (actual.length !== expected.length || actual.some((v, i) => !(Math.abs(v - expected[i]) <= tolerance))) {
    throw new Error(`${what}: [${actual.join(', ')}] != [${expected.join(', ')}] within ${tolerance}`);
  }
}

export function countNonzero(data: VoxelArray): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) n++;
  return n;
}

export function dice(a: VoxelArray, b: VoxelArray): number {
  let both = 0;
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0;
    const y = b[i] !== 0;
    if (x && y) both++;
    total += (x ? 1 : 0) + (y ? 1 : 0);
  }
  return total === 0 ? 1 : (2 * both) / total;
}

/** Deterministic pseudo-random numbers in [0, 1) (xorshift32). */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

export function distinctValues(data: VoxelArray): number[] {
  return [...new Set(Array.from(data))].sort((a, b) => a - b);
}
