import type { Dims3 } from '../core/volume.js';
import { squaredDistanceTransform } from '../ops/distance.js';

/** Dice overlap of two masks (1 when both are empty). */
export function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let both = 0;
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    both += x & y;
    total += x + y;
  }
  return total === 0 ? 1 : (2 * both) / total;
}

/**
 * 95th percentile of the symmetric surface distances in mm (HD95, as the Medical Segmentation
 * Decathlon tooling (medpy) computes it: distances from each surface to the other, pooled).
 * NaN when either mask is empty.
 */
export function hausdorff95(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly number[],
): number {
  const surfaceA = surface(a, dims);
  const surfaceB = surface(b, dims);
  if (!surfaceA.some((v) => v) || !surfaceB.some((v) => v)) return NaN;
  const toB = squaredDistanceTransform(surfaceB, dims, spacing);
  const toA = squaredDistanceTransform(surfaceA, dims, spacing);
  const distances: number[] = [];
  for (let i = 0; i < surfaceA.length; i++) {
    if (surfaceA[i]) distances.push(Math.sqrt(toB[i]));
    if (surfaceB[i]) distances.push(Math.sqrt(toA[i]));
  }
  distances.sort((x, y) => x - y);
  return distances[Math.min(distances.length - 1, Math.ceil(0.95 * distances.length) - 1)];
}

/** Mask voxels with at least one 6-neighbour outside the mask (or outside the volume). */
export function surface(mask: ArrayLike<number>, dims: Dims3): Uint8Array {
  const [nx, ny, nz] = dims;
  const out = new Uint8Array(nx * ny * nz);
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) {
        if (!mask[index]) continue;
        const border = i === 0 || j === 0 || k === 0 || i === nx - 1 || j === ny - 1 || k === nz - 1;
        if (
          border ||
          !mask[index - 1] ||
          !mask[index + 1] ||
          !mask[index - nx] ||
          !mask[index + nx] ||
          !mask[index - nx * ny] ||
          !mask[index + nx * ny]
        ) {
          out[index] = 1;
        }
      }
    }
  }
  return out;
}
