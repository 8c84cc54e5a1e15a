/**
 * Exact Euclidean distance transform (Felzenszwalb and Huttenlocher): for every voxel, the squared
 * distance in mm to the nearest voxel where `isTarget` holds, computed one axis at a time with
 * the voxel spacing as weights, so anisotropic grids are measured in millimetres.
 *
 * The spacing-weighted transforms are exact on orthogonal grids only. On a sheared grid (a gantry-tilted
 * CT read as acquired) a voxel offset d is |A d| mm long, which no per-axis weighting gives: a 20-degree
 * tilt makes sqrt(sum (s_i d_i)^2) up to 23 % too long or 14 % too short. `squaredDistanceWithin` takes
 * the affine and is exact on any grid up to a distance limit, which is what thresholded uses need.
 */
import { columnCosine, isSheared, voxelMetric, voxelSizes, type Mat4 } from '../core/affine.js';
import type { Dims3 } from '../core/volume.js';

export function squaredDistanceTransform(isTarget: Uint8Array, dims: Dims3, spacing: readonly number[]): Float64Array {
  const out = new Float64Array(dims[0] * dims[1] * dims[2]);
  for (let i = 0; i < out.length; i++) out[i] = isTarget[i] ? 0 : Infinity;
  return squaredDistanceInPlace(out, dims, spacing);
}

/**
 * The same transform over `distance` itself: 0 at the targets and Infinity elsewhere on entry, the
 * squared distance in mm on return. A Float32Array halves the memory where float precision will do
 * (morphology's ball, which compares with a tolerance); each line is worked in float64.
 */
export function squaredDistanceInPlace<T extends Float32Array | Float64Array>(
  distance: T,
  dims: Dims3,
  spacing: readonly number[],
): T {
  const [nx, ny] = dims;
  const longest = Math.max(...dims);
  const line = new Float64Array(longest);
  const result = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const n = dims[axis];
    // a line of one voxel is its own distance
    if (n === 1) continue;
    const stride = strides[axis];
    const weight = spacing[axis] * spacing[axis];
    const others = [0, 1, 2].filter((a) => a !== axis);
    for (let b = 0; b < dims[others[1]]; b++) {
      for (let a = 0; a < dims[others[0]]; a++) {
        const base = a * strides[others[0]] + b * strides[others[1]];
        for (let i = 0; i < n; i++) line[i] = distance[base + i * stride];
        distance1d(line, n, weight, result, v, z);
        for (let i = 0; i < n; i++) distance[base + i * stride] = result[i];
      }
    }
  }
  return distance;
}

/**
 * Squared distance in mm from every voxel to the nearest target under the grid's full affine (`affine`'s
 * 3x3 part), exact for every voxel within `limitMm` of a target on any grid, sheared or not. `distance` is
 * 0 at the targets and Infinity elsewhere on entry. Beyond the limit a voxel holds its squared distance to
 * some target (never less than the true one, so still over the limit) or Infinity.
 *
 * An orthogonal grid takes the separable transform above (exact everywhere). On a sheared grid the axis L
 * whose column leaves the plane of the other two (the slice axis of a tilted stack) is split off: with
 * a_L = alpha a_u + beta a_v + n (n normal to that plane, |n| = h, the true plane spacing), an offset
 * (du, dv, dL) is |a_u (du + alpha dL) + a_v (dv + beta dL)|^2 + h^2 dL^2 long. A target within the limit
 * is at most limit / h planes away, so for each such dL every plane takes a 2D transform of the plane dL
 * away whose parabolas are shifted by (alpha dL, beta dL): exact, at (2 floor(limit / h) + 1) in-plane
 * transforms per plane (7 for 10 mm at 3 mm planes). Planes whose own axes are not perpendicular either
 * are split the same way once more (a loop over rows instead of the second 1D pass).
 */
export function squaredDistanceWithin(
  distance: Float64Array,
  dims: Dims3,
  affine: Mat4,
  limitMm: number,
): Float64Array {
  if (!isSheared(affine)) return squaredDistanceInPlace(distance, dims, voxelSizes(affine));
  const g = voxelMetric(affine);
  const cos = (a: number, b: number) => columnCosine(g, a, b);
  // the split axis: the one whose two others are the most nearly perpendicular
  const L = [0, 1, 2].reduce((best, c) => {
    const [a, b] = [0, 1, 2].filter((x) => x !== c);
    const [p, q] = [0, 1, 2].filter((x) => x !== best);
    return cos(a, b) < cos(p, q) ? c : best;
  }, 2);
  const [u, v] = [0, 1, 2].filter((a) => a !== L);
  const G = (a: number, b: number) => g[a * 3 + b];
  const det2 = G(u, u) * G(v, v) - G(u, v) * G(u, v);
  const alpha = (G(v, v) * G(u, L) - G(u, v) * G(v, L)) / det2;
  const beta = (G(u, u) * G(v, L) - G(u, v) * G(u, L)) / det2;
  const h2 = G(L, L) - alpha * G(u, L) - beta * G(v, L);
  const limit2 = limitMm * limitMm;
  const reach = Math.floor(Math.sqrt(limit2 / h2) + 1e-9);
  // in-plane: x = du + alpha dL, y = dv + beta dL; |a_u x + a_v y|^2 = Guu (x + gamma y)^2 + hv2 y^2
  const orthogonalPlane = cos(u, v) <= 1e-6;
  const gamma = orthogonalPlane ? 0 : G(u, v) / G(u, u);
  const hv2 = orthogonalPlane ? G(v, v) : G(v, v) - (G(u, v) * G(u, v)) / G(u, u);

  const strides = [1, dims[0], dims[0] * dims[1]];
  const [nu, nv, nL] = [dims[u], dims[v], dims[L]];
  const [su, sv, sL] = [strides[u], strides[v], strides[L]];
  const source = Float64Array.from(distance);
  distance.fill(Infinity);
  const plane = new Float64Array(nu * nv);
  const rows = new Float64Array(nu * nv);
  const longest = Math.max(nu, nv);
  const line = new Float64Array(longest);
  const result = new Float64Array(longest);
  const envelope = new Int32Array(longest);
  const bounds = new Float64Array(longest + 1);
  const hasTarget = new Uint8Array(nL);
  for (let l = 0; l < nL; l++) {
    for (let b = 0; b < nv && !hasTarget[l]; b++)
      for (let a = 0; a < nu; a++) if (source[l * sL + a * su + b * sv] === 0) hasTarget[l] = 1;
  }
  for (let dL = -reach; dL <= reach; dL++) {
    const shiftU = alpha * dL;
    const shiftV = beta * dL;
    const across = h2 * dL * dL;
    for (let l = 0; l < nL; l++) {
      const from = l - dL;
      if (from < 0 || from >= nL || !hasTarget[from]) continue;
      // the 1D transform along u of every row of plane `from`, shifted
      for (let b = 0; b < nv; b++) {
        for (let a = 0; a < nu; a++) line[a] = source[from * sL + a * su + b * sv];
        if (orthogonalPlane) {
          distance1d(line, nu, G(u, u), result, envelope, bounds, shiftU);
          rows.set(result.subarray(0, nu), b * nu);
        } else rows.set(line.subarray(0, nu), b * nu);
      }
      if (orthogonalPlane) {
        for (let a = 0; a < nu; a++) {
          for (let b = 0; b < nv; b++) line[b] = rows[b * nu + a];
          distance1d(line, nv, G(v, v), result, envelope, bounds, shiftV);
          for (let b = 0; b < nv; b++) plane[b * nu + a] = result[b];
        }
      } else {
        plane.fill(Infinity);
        const yReach = Math.sqrt(limit2 / hv2);
        for (let b = 0; b < nv; b++) {
          // rows b - dv of plane `from`, with y = dv + beta dL inside the limit
          for (let dv = Math.ceil(-yReach - shiftV); dv <= Math.floor(yReach - shiftV); dv++) {
            const row = b - dv;
            if (row < 0 || row >= nv) continue;
            const y = dv + shiftV;
            distance1d(
              rows.subarray(row * nu, row * nu + nu),
              nu,
              G(u, u),
              result,
              envelope,
              bounds,
              shiftU + gamma * y,
            );
            const extra = hv2 * y * y;
            for (let a = 0; a < nu; a++) {
              const candidate = result[a] + extra;
              if (candidate < plane[b * nu + a]) plane[b * nu + a] = candidate;
            }
          }
        }
      }
      for (let b = 0; b < nv; b++) {
        for (let a = 0; a < nu; a++) {
          const index = l * sL + a * su + b * sv;
          const candidate = plane[b * nu + a] + across;
          if (candidate < distance[index]) distance[index] = candidate;
        }
      }
    }
  }
  return distance;
}

/**
 * 1D squared distance under f: d(q) = min_p (w (q + shift - p)^2 + f(p)), by the lower envelope of
 * parabolas (shift 0: the plain transform; a sheared grid's planes need a fractional one).
 */
function distance1d(
  f: Float64Array,
  n: number,
  w: number,
  d: Float64Array,
  v: Int32Array,
  z: Float64Array,
  shift = 0,
): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    // drop the parabolas that q's hides, then q's starts where it crosses the last one kept
    let s = -Infinity;
    while (k >= 0) {
      s = intersection(f, v[k], q, w);
      if (s <= z[k]) k--;
      else break;
    }
    k++;
    v[k] = q;
    z[k] = k === 0 ? -Infinity : s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    for (let q = 0; q < n; q++) d[q] = Infinity;
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    const x = q + shift;
    while (z[j + 1] < x) j++;
    const diff = x - v[j];
    d[q] = w * diff * diff + f[v[j]];
  }
}

function intersection(f: Float64Array, p: number, q: number, w: number): number {
  return (f[q] + w * q * q - (f[p] + w * p * p)) / (2 * w * (q - p));
}
