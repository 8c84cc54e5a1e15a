/**
 * 4x4 affine matrices, stored row-major in a flat array of 16 numbers. medparse's world space is
 * RAS+ millimetres (the nibabel convention): +x right, +y anterior, +z superior.
 */
export type Mat4 = readonly number[];
export type Vec3 = [number, number, number];

export function identity4(): number[] {
  return [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
}

export function multiply4(a: Mat4, b: Mat4): number[] {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += a[r * 4 + k] * b[k * 4 + c];
      out[r * 4 + c] = sum;
    }
  }
  return out;
}

/** General 4x4 inverse (cofactor expansion); throws on a singular matrix. */
export function invert4(m: Mat4): number[] {
  const inv = new Array<number>(16);
  inv[0] =
    m[5] * m[10] * m[15] -
    m[5] * m[11] * m[14] -
    m[9] * m[6] * m[15] +
    m[9] * m[7] * m[14] +
    m[13] * m[6] * m[11] -
    m[13] * m[7] * m[10];
  inv[4] =
    -m[4] * m[10] * m[15] +
    m[4] * m[11] * m[14] +
    m[8] * m[6] * m[15] -
    m[8] * m[7] * m[14] -
    m[12] * m[6] * m[11] +
    m[12] * m[7] * m[10];
  inv[8] =
    m[4] * m[9] * m[15] -
    m[4] * m[11] * m[13] -
    m[8] * m[5] * m[15] +
    m[8] * m[7] * m[13] +
    m[12] * m[5] * m[11] -
    m[12] * m[7] * m[9];
  inv[12] =
    -m[4] * m[9] * m[14] +
    m[4] * m[10] * m[13] +
    m[8] * m[5] * m[14] -
    m[8] * m[6] * m[13] -
    m[12] * m[5] * m[10] +
    m[12] * m[6] * m[9];
  inv[1] =
    -m[1] * m[10] * m[15] +
    m[1] * m[11] * m[14] +
    m[9] * m[2] * m[15] -
    m[9] * m[3] * m[14] -
    m[13] * m[2] * m[11] +
    m[13] * m[3] * m[10];
  inv[5] =
    m[0] * m[10] * m[15] -
    m[0] * m[11] * m[14] -
    m[8] * m[2] * m[15] +
    m[8] * m[3] * m[14] +
    m[12] * m[2] * m[11] -
    m[12] * m[3] * m[10];
  inv[9] =
    -m[0] * m[9] * m[15] +
    m[0] * m[11] * m[13] +
    m[8] * m[1] * m[15] -
    m[8] * m[3] * m[13] -
    m[12] * m[1] * m[11] +
    m[12] * m[3] * m[9];
  inv[13] =
    m[0] * m[9] * m[14] -
    m[0] * m[10] * m[13] -
    m[8] * m[1] * m[14] +
    m[8] * m[2] * m[13] +
    m[12] * m[1] * m[10] -
    m[12] * m[2] * m[9];
  inv[2] =
    m[1] * m[6] * m[15] -
    m[1] * m[7] * m[14] -
    m[5] * m[2] * m[15] +
    m[5] * m[3] * m[14] +
    m[13] * m[2] * m[7] -
    m[13] * m[3] * m[6];
  inv[6] =
    -m[0] * m[6] * m[15] +
    m[0] * m[7] * m[14] +
    m[4] * m[2] * m[15] -
    m[4] * m[3] * m[14] -
    m[12] * m[2] * m[7] +
    m[12] * m[3] * m[6];
  inv[10] =
    m[0] * m[5] * m[15] -
    m[0] * m[7] * m[13] -
    m[4] * m[1] * m[15] +
    m[4] * m[3] * m[13] +
    m[12] * m[1] * m[7] -
    m[12] * m[3] * m[5];
  inv[14] =
    -m[0] * m[5] * m[14] +
    m[0] * m[6] * m[13] +
    m[4] * m[1] * m[14] -
    m[4] * m[2] * m[13] -
    m[12] * m[1] * m[6] +
    m[12] * m[2] * m[5];
  inv[3] =
    -m[1] * m[6] * m[11] +
    m[1] * m[7] * m[10] +
    m[5] * m[2] * m[11] -
    m[5] * m[3] * m[10] -
    m[9] * m[2] * m[7] +
    m[9] * m[3] * m[6];
  inv[7] =
    m[0] * m[6] * m[11] -
    m[0] * m[7] * m[10] -
    m[4] * m[2] * m[11] +
    m[4] * m[3] * m[10] +
    m[8] * m[2] * m[7] -
    m[8] * m[3] * m[6];
  inv[11] =
    -m[0] * m[5] * m[11] +
    m[0] * m[7] * m[9] +
    m[4] * m[1] * m[11] -
    m[4] * m[3] * m[9] -
    m[8] * m[1] * m[7] +
    m[8] * m[3] * m[5];
  inv[15] =
    m[0] * m[5] * m[10] -
    m[0] * m[6] * m[9] -
    m[4] * m[1] * m[10] +
    m[4] * m[2] * m[9] +
    m[8] * m[1] * m[6] -
    m[8] * m[2] * m[5];
  const det = m[0] * inv[0] + m[1] * inv[4] + m[2] * inv[8] + m[3] * inv[12];
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new Error('affine is singular and cannot be inverted');
  return inv.map((v) => v / det);
}

export function transformPoint(m: Mat4, p: readonly number[]): Vec3 {
  return [
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3],
    m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7],
    m[8] * p[0] + m[9] * p[1] + m[10] * p[2] + m[11],
  ];
}

/** Length of each voxel axis in world millimetres: the norms of the affine's first three columns. */
export function voxelSizes(m: Mat4): Vec3 {
  const norm = (c: number) => Math.hypot(m[c], m[4 + c], m[8 + c]);
  return [norm(0), norm(1), norm(2)];
}

/**
 * The volume of a voxel over the product of its axis lengths: |det| of the affine's unit column
 * directions. 1 for an orthogonal grid; cos(tilt) for a stack sheared by a gantry tilt, whose voxels are
 * parallelepipeds. Within 1e-6 of 1 it is 1: float32 direction cosines of an orthogonal grid (a NIfTI
 * sform) miss by about 1e-7, which is rounding, not shear.
 */
export function shearVolumeFactor(m: Mat4): number {
  const sizes = voxelSizes(m);
  const u = (r: number, c: number) => m[r * 4 + c] / (sizes[c] || 1);
  const det =
    u(0, 0) * (u(1, 1) * u(2, 2) - u(1, 2) * u(2, 1)) -
    u(0, 1) * (u(1, 0) * u(2, 2) - u(1, 2) * u(2, 0)) +
    u(0, 2) * (u(1, 0) * u(2, 1) - u(1, 1) * u(2, 0));
  const factor = Math.abs(det);
  return Math.abs(factor - 1) < 1e-6 ? 1 : factor;
}

/**
 * The affine with each voxel axis rescaled to the given length, its direction kept: a file's stated voxel
 * size put on its axes (a unit-scaled sform, as ACDC's, holds the directions but not the sizes).
 */
export function withColumnLengths(m: Mat4, lengths: Vec3): number[] {
  const scaled = [...m];
  for (let c = 0; c < 3; c++) {
    const length = Math.hypot(m[c], m[4 + c], m[8 + c]) || 1;
    for (let r = 0; r < 3; r++) scaled[r * 4 + c] = (m[r * 4 + c] / length) * lengths[c];
  }
  return scaled;
}

/** The Gram matrix G = A^T A of the affine's 3x3 part (row-major 3x3): |A d|^2 = d^T G d for a voxel offset d. */
export function voxelMetric(m: Mat4): number[] {
  const g = new Array<number>(9);
  for (let a = 0; a < 3; a++)
    for (let b = 0; b < 3; b++) g[a * 3 + b] = m[a] * m[b] + m[4 + a] * m[4 + b] + m[8 + a] * m[8 + b];
  return g;
}

/**
 * Whether the voxel axes are not mutually perpendicular (a gantry-tilted stack read as acquired): some
 * pair of columns has a cosine over SHEAR_COSINE. On such a grid a voxel offset d is |A d| mm long, not
 * sqrt(sum (s_i d_i)^2), and the networks work on a straightened grid (runtime/preprocess.ts).
 */
export function isSheared(m: Mat4): boolean {
  const g = voxelMetric(m);
  return (
    columnCosine(g, 0, 1) > SHEAR_COSINE || columnCosine(g, 0, 2) > SHEAR_COSINE || columnCosine(g, 1, 2) > SHEAR_COSINE
  );
}

/** |cos| of the angle between voxel axes a and b, from the Gram matrix `voxelMetric` gives. */
export function columnCosine(g: readonly number[], a: number, b: number): number {
  return Math.abs(g[a * 3 + b]) / (Math.sqrt(g[a * 4] * g[b * 4]) || 1);
}

/**
 * Column cosine over which a grid is sheared: 0.03 degrees off square. Float32 direction cosines of an
 * orthogonal grid miss by about 1e-7; the DICOM reader calls a stack tilted only when its drift exceeds 1e-3
 * of its length, so every tilt it reports is over this; at this cosine a distance is off by 5e-4 at most.
 */
export const SHEAR_COSINE = 5e-4;

/** The length in world mm of a voxel offset d: |A d|, exact on any grid, sheared or not. */
export function offsetLengthMm(m: Mat4, d: readonly number[]): number {
  return Math.hypot(
    m[0] * d[0] + m[1] * d[1] + m[2] * d[2],
    m[4] * d[0] + m[5] * d[1] + m[6] * d[2],
    m[8] * d[0] + m[9] * d[1] + m[10] * d[2],
  );
}

/**
 * How many whole voxels a ball of `radiusMm` reaches along each axis: the largest |d_a| of an offset with
 * |A d| <= radiusMm, radiusMm * sqrt((G^-1)_aa). On an orthogonal grid that is radiusMm / s_a; on a
 * sheared one it is more along the axes the shear tilts (the ball is reached by stepping sideways too).
 */
export function ballReach(m: Mat4, radiusMm: number): Vec3 {
  const g = voxelMetric(m);
  const det =
    g[0] * (g[4] * g[8] - g[5] * g[7]) - g[1] * (g[3] * g[8] - g[5] * g[6]) + g[2] * (g[3] * g[7] - g[4] * g[6]);
  const cofactor = [g[4] * g[8] - g[5] * g[7], g[0] * g[8] - g[2] * g[6], g[0] * g[4] - g[1] * g[3]];
  return cofactor.map((c) => Math.floor(radiusMm * Math.sqrt(c / det) + 1e-9)) as Vec3;
}

export function toNested(m: Mat4): number[][] {
  return [0, 1, 2, 3].map((r) => [m[r * 4], m[r * 4 + 1], m[r * 4 + 2], m[r * 4 + 3]]);
}

export function fromNested(rows: readonly (readonly number[])[]): number[] {
  return rows.flatMap((row) => [...row]);
}

/** Converts between RAS and LPS world frames (the same operation both ways: negate x and y rows). */
export function flipRasLps(m: Mat4): number[] {
  const out = [...m];
  for (let c = 0; c < 4; c++) {
    out[c] = -out[c];
    out[4 + c] = -out[4 + c];
  }
  return out;
}

export function affinesClose(a: Mat4, b: Mat4, tolerance = 1e-4): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= tolerance);
}
