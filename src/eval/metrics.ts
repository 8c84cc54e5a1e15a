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
 * Distances in mm between two masks' surfaces (see `surface`), each way: the one distance pass that HD95
 * and the normalised surface Dice are both read from.
 */
export interface SurfaceDistances {
  /** Surface voxels of a, and of b. */
  surfaceA: number;
  surfaceB: number;
  /** From each surface voxel of a to the nearest surface voxel of b, in mm; empty when either surface is. */
  aToB: Float64Array;
  /** From each surface voxel of b to the nearest surface voxel of a, in mm; empty when either surface is. */
  bToA: Float64Array;
}

/**
 * The surface distances of two masks on one grid, `spacing` in mm per axis (anisotropic grids are measured
 * in mm): one exact distance transform to each surface, each read at the other surface's voxels. With
 * either surface empty no transform runs and both distance lists are empty. Per-axis spacing is exact on
 * orthogonal grids (every evaluation dataset's); a sheared grid's offsets are |A d| (distance.ts).
 */
export function surfaceDistances(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly number[],
): SurfaceDistances {
  const surfaceA = surface(a, dims);
  const surfaceB = surface(b, dims);
  const countA = count(surfaceA);
  const countB = count(surfaceB);
  if (countA === 0 || countB === 0)
    return { surfaceA: countA, surfaceB: countB, aToB: new Float64Array(0), bToA: new Float64Array(0) };
  return {
    surfaceA: countA,
    surfaceB: countB,
    aToB: distancesAt(surfaceA, countA, squaredDistanceTransform(surfaceB, dims, spacing)),
    bToA: distancesAt(surfaceB, countB, squaredDistanceTransform(surfaceA, dims, spacing)),
  };
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
  return hausdorff95Of(surfaceDistances(a, b, dims, spacing));
}

/** HD95 (see `hausdorff95`) of distances already measured; NaN when either surface is empty. */
export function hausdorff95Of(distances: SurfaceDistances): number {
  const { aToB, bToA } = distances;
  if (distances.surfaceA === 0 || distances.surfaceB === 0) return NaN;
  const pooled = new Float64Array(aToB.length + bToA.length);
  pooled.set(aToB);
  pooled.set(bToA, aToB.length);
  pooled.sort();
  return pooled[Math.min(pooled.length - 1, Math.ceil(0.95 * pooled.length) - 1)];
}

/**
 * Normalised surface Dice at a tolerance in mm (Nikolov et al. 2021): the surface voxels of both masks
 * that lie within `toleranceMm` of the other mask's surface (distance <= tolerance), over all surface
 * voxels of both. Each surface voxel counts once (the paper weights surface elements by their area).
 * 1 for identical masks, NaN when both are empty, 0 when one is.
 */
export function normalizedSurfaceDice(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly number[],
  toleranceMm: number,
): number {
  return normalizedSurfaceDiceOf(surfaceDistances(a, b, dims, spacing), toleranceMm);
}

/**
 * Slack on the tolerance, in mm: a voxel exactly at the tolerance (0.1 mm voxels, 12 of them: 1.2 mm) can
 * come out of the distance transform one rounding step beyond it (1.2000000000000002).
 */
const TOLERANCE_SLACK_MM = 1e-9;

/** Normalised surface Dice (see `normalizedSurfaceDice`) of distances already measured. */
export function normalizedSurfaceDiceOf(distances: SurfaceDistances, toleranceMm: number): number {
  const { surfaceA, surfaceB, aToB, bToA } = distances;
  if (surfaceA === 0 && surfaceB === 0) return NaN;
  if (surfaceA === 0 || surfaceB === 0) return 0;
  const limit = toleranceMm + TOLERANCE_SLACK_MM;
  let within = 0;
  for (let i = 0; i < aToB.length; i++) if (aToB[i] <= limit) within++;
  for (let i = 0; i < bToA.length; i++) if (bToA[i] <= limit) within++;
  return within / (surfaceA + surfaceB);
}

/**
 * HD95 and the normalised surface Dice at `toleranceMm` from one surface-distance pass (what `npm run eval`
 * reports per case): the same numbers as `hausdorff95` and `normalizedSurfaceDice`, for the cost of one.
 */
export function surfaceMetrics(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly number[],
  toleranceMm: number,
): { hd95: number; nsd: number } {
  const distances = surfaceDistances(a, b, dims, spacing);
  return { hd95: hausdorff95Of(distances), nsd: normalizedSurfaceDiceOf(distances, toleranceMm) };
}

function count(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

/** sqrt of `squared` at the voxels where `where` is set, in voxel order. */
function distancesAt(where: Uint8Array, n: number, squared: Float64Array): Float64Array {
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < where.length; i++) if (where[i]) out[k++] = Math.sqrt(squared[i]);
  return out;
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
