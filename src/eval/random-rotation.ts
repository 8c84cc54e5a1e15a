/**
 * eval --rotate: a held-out case stored as a scanner lying another way would store it. Only the affine
 * turns; the voxels, and so the reference labels' correspondence to them, are untouched.
 */
import { multiply4, type Mat4 } from '../core/affine.js';
import type { Volume } from '../core/volume.js';

/**
 * A rotation drawn uniformly over all orientations (a random unit quaternion, Shoemake's method) from a
 * small seeded generator (mulberry32), as a row-major 4x4 matrix.
 */
export function randomRotation(seed: number): Mat4 {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const [u1, u2, u3] = [next(), next(), next()];
  const [w, x, y, z] = [
    Math.sqrt(1 - u1) * Math.sin(2 * Math.PI * u2),
    Math.sqrt(1 - u1) * Math.cos(2 * Math.PI * u2),
    Math.sqrt(u1) * Math.sin(2 * Math.PI * u3),
    Math.sqrt(u1) * Math.cos(2 * Math.PI * u3),
  ];
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - w * z),
    2 * (x * z + w * y),
    0,
    2 * (x * y + w * z),
    1 - 2 * (x * x + z * z),
    2 * (y * z - w * x),
    0,
    2 * (x * z - w * y),
    2 * (y * z + w * x),
    1 - 2 * (x * x + y * y),
    0,
    0,
    0,
    0,
    1,
  ];
}

/** The volume with its affine turned by `rotation` (the voxels untouched); itself without one. */
export function turned(volume: Volume, rotation: Mat4 | undefined): Volume {
  return rotation ? { ...volume, affine: multiply4(rotation, volume.affine) } : volume;
}
