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

export function orientationCode(affine: Mat4): OrientationCode {
  const { worldAxis, sign } = axisMapping(affine);
  return worldAxis.map((w, i) => (sign[i] > 0 ? POSITIVE[w] : NEGATIVE[w])).join('');
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
