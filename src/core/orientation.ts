import type { Mat4 } from './affine.js';

/** Axis codes such as "RAS", "LPS", "LIA": the world direction each voxel axis increases towards. */
export type OrientationCode = string;

const POSITIVE = ['R', 'A', 'S'] as const;
const NEGATIVE = ['L', 'P', 'I'] as const;

export interface AxisMapping {
  /** World axis (0 = x/R-L, 1 = y/A-P, 2 = z/S-I) that each voxel axis is closest to. */
  worldAxis: [number, number, number];
  /** +1 when the voxel axis points along +world (R, A or S), -1 otherwise. */
  sign: [number, number, number];
}

/**
 * Assigns each voxel axis to the world axis it is most aligned with, taking the strongest
 * alignments first so that oblique affines still give a permutation (as nibabel's io_orientation).
 */
export function axisMapping(affine: Mat4): AxisMapping {
  const cosines: number[][] = [0, 1, 2].map((c) => {
    const n = Math.hypot(affine[c], affine[4 + c], affine[8 + c]) || 1;
    return [affine[c] / n, affine[4 + c] / n, affine[8 + c] / n];
  });
  const candidates: Array<{ voxel: number; world: number; value: number }> = [];
  for (let voxel = 0; voxel < 3; voxel++) {
    for (let world = 0; world < 3; world++) candidates.push({ voxel, world, value: cosines[voxel][world] });
  }
  candidates.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const worldAxis: [number, number, number] = [-1, -1, -1];
  const sign: [number, number, number] = [1, 1, 1];
  const usedWorld = new Set<number>();
  for (const { voxel, world, value } of candidates) {
    if (worldAxis[voxel] !== -1 || usedWorld.has(world)) continue;
    worldAxis[voxel] = world;
    sign[voxel] = value < 0 ? -1 : 1;
    usedWorld.add(world);
  }
  return { worldAxis, sign };
}

/** A voxel axis at least this many times thicker than both others is a stack's slice axis. */
export const SLICE_STACK_RATIO = 1.5;

/**
 * `axisMapping`, except that a clear slice axis (voxels at least SLICE_STACK_RATIO times thicker along
 * it than along both others) is assigned to the world's S-I axis, trading places with the axis that was;
 * each of the two points to the positive or negative end of its new world axis as its cosine says.
 * A short-axis cardiac stack is oblique, so its slices may lie nearest any world axis: a network that
 * learnt stacks must still see the slices as slices.
 */
export function sliceStackMapping(affine: Mat4): AxisMapping {
  const mapping = axisMapping(affine);
  const lengths = [0, 1, 2].map((c) => Math.hypot(affine[c], affine[4 + c], affine[8 + c]));
  const thick = lengths.indexOf(Math.max(...lengths));
  const thickEnough = lengths.every((l, c) => c === thick || lengths[thick] >= SLICE_STACK_RATIO * l);
  const current = mapping.worldAxis.indexOf(2);
  if (!thickEnough || current === thick) return mapping;
  const freed = mapping.worldAxis[thick];
  const worldAxis = [...mapping.worldAxis] as [number, number, number];
  const sign = [...mapping.sign] as [number, number, number];
  worldAxis[thick] = 2;
  worldAxis[current] = freed;
  sign[thick] = affine[8 + thick] < 0 ? -1 : 1;
  sign[current] = affine[freed * 4 + current] < 0 ? -1 : 1;
  return { worldAxis, sign };
}

/**
 * The orientation code as nibabel's `aff2axcodes` gives it, which is what users compare with: the
 * direction cosines are first replaced by the nearest rotation (polar decomposition, nibabel's SVD step),
 * then each voxel axis in turn takes its largest remaining world axis. On a strongly oblique stack this
 * can differ from `axisMapping`, which takes the strongest alignments first and is the model contract's
 * working-grid mapping (trained that way): only the description follows nibabel.
 */
export function orientationCode(affine: Mat4): OrientationCode {
  const rotation = nearestRotation(unitColumns(affine));
  const usedWorld = new Set<number>();
  const letters: string[] = [];
  // an axis without direction (a zero column) takes whatever world axis the others leave
  const hasDirection = (voxel: number): boolean => rotation.some((row) => row[voxel] !== 0);
  const order = [0, 1, 2].sort((a, b) => Number(hasDirection(b)) - Number(hasDirection(a)));
  for (const voxel of order) {
    let best = -1;
    for (let world = 0; world < 3; world++) {
      if (usedWorld.has(world)) continue;
      if (best < 0 || Math.abs(rotation[world][voxel]) > Math.abs(rotation[best][voxel])) best = world;
    }
    usedWorld.add(best);
    letters[voxel] = rotation[best][voxel] < 0 ? NEGATIVE[best] : POSITIVE[best];
  }
  return letters.join('');
}

/** The affine's 3x3 part as rows of a matrix whose columns have unit length (a zero column stays zero). */
function unitColumns(affine: Mat4): number[][] {
  const norms = [0, 1, 2].map((c) => Math.hypot(affine[c], affine[4 + c], affine[8 + c]) || 1);
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r * 4 + c] / norms[c]));
}

/**
 * The rotation nearest to m (its polar factor), by Newton's iteration X <- (X + X^-T) / 2, which
 * converges quadratically for a non-singular m; a singular m (a zero column) is returned as it is.
 */
function nearestRotation(m: number[][]): number[][] {
  let x = m.map((row) => [...row]);
  for (let iteration = 0; iteration < 50; iteration++) {
    const inverseTranspose = invertTranspose3(x);
    if (!inverseTranspose) return m;
    const next = x.map((row, r) => row.map((v, c) => (v + inverseTranspose[r][c]) / 2));
    const change = Math.max(...next.flatMap((row, r) => row.map((v, c) => Math.abs(v - x[r][c]))));
    x = next;
    if (change < 1e-12) break;
  }
  return x;
}

/** (m^-1)^T of a 3x3 matrix: its cofactor matrix over the determinant; null when m is singular. */
function invertTranspose3(m: number[][]): number[][] | null {
  const cofactor = (r: number, c: number): number => {
    const rows = [0, 1, 2].filter((i) => i !== r);
    const cols = [0, 1, 2].filter((i) => i !== c);
    const minor = m[rows[0]][cols[0]] * m[rows[1]][cols[1]] - m[rows[0]][cols[1]] * m[rows[1]][cols[0]];
    return (r + c) % 2 === 0 ? minor : -minor;
  };
  const cofactors = [0, 1, 2].map((r) => [0, 1, 2].map((c) => cofactor(r, c)));
  const det = m[0][0] * cofactors[0][0] + m[0][1] * cofactors[0][1] + m[0][2] * cofactors[0][2];
  if (Math.abs(det) < 1e-9) return null;
  return cofactors.map((row) => row.map((v) => v / det));
}

/** Parses a code like "LPS" into the mapping it denotes; throws on anything that is not a valid code. */
export function parseOrientationCode(code: string): AxisMapping {
  const upper = code.toUpperCase();
  if (!/^[RLAPSI]{3}$/.test(upper)) throw new Error(`"${code}" is not an orientation code (three of R/L, A/P, S/I)`);
  const worldAxis = [0, 0, 0] as [number, number, number];
  const sign = [1, 1, 1] as [number, number, number];
  const seen = new Set<number>();
  for (let i = 0; i < 3; i++) {
    const letter = upper[i];
    const pos = POSITIVE.indexOf(letter as (typeof POSITIVE)[number]);
    const neg = NEGATIVE.indexOf(letter as (typeof NEGATIVE)[number]);
    worldAxis[i] = pos >= 0 ? pos : neg;
    sign[i] = pos >= 0 ? 1 : -1;
    if (seen.has(worldAxis[i])) throw new Error(`"${code}" names the same world axis twice`);
    seen.add(worldAxis[i]);
  }
  return { worldAxis, sign };
}
