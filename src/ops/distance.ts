/**
 * Exact Euclidean distance transform (Felzenszwalb and Huttenlocher): for every voxel, the squared
 * distance in mm to the nearest voxel where `isTarget` holds, computed one axis at a time with
 * the voxel spacing as weights, so anisotropic grids are measured in millimetres.
 */
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

/** 1D squared distance under f: d(q) = min_p (w (q - p)^2 + f(p)), by the lower envelope of parabolas. */
function distance1d(f: Float64Array, n: number, w: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
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
    while (z[j + 1] < q) j++;
    const diff = q - v[j];
    d[q] = w * diff * diff + f[v[j]];
  }
}

function intersection(f: Float64Array, p: number, q: number, w: number): number {
  return (f[q] + w * q * q - (f[p] + w * p * p)) / (2 * w * (q - p));
}
