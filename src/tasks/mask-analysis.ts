import { transformPoint } from '../core/affine.js';
import { axisMapping } from '../core/orientation.js';
import type { Volume } from '../core/volume.js';
import { connectedComponents, labelStatistics, type LabelStatistics } from '../ops/index.js';
import type { Instance } from './results.js';

/** Components smaller than this are noise, not instances (and are left out of the instance list). */
const MIN_INSTANCE_VOXELS = 10;

export interface MaskDescription {
  statistics: LabelStatistics | undefined;
  instances: Instance[];
  bestSlice: { axis: number; index: number } | null;
}

/**
 * Quantities of a mask (given as 0..255 probabilities, 0 outside) on `volume`'s grid: statistics
 * against the image's intensities (HU for CT), its instances (26-connected components) with their
 * mean probability, sorted by confidence, and the axial slice that shows the most of it.
 */
export function describeMask(probability: Uint8Array, volume: Volume): MaskDescription {
  const mask: Volume = { dims: volume.dims, affine: volume.affine, data: probability, meta: volume.meta };
  const binary = { ...mask, data: toBinary(probability) };
  const statistics = labelStatistics(binary, volume).find((s) => s.label === 1);
  if (!statistics) return { statistics: undefined, instances: [], bestSlice: null };
  const components = connectedComponents(binary, { connectivity: 26 });
  const componentVolume = { ...mask, data: components.labels };
  const instances = labelStatistics(componentVolume, mask)
    .filter((s) => s.voxels >= MIN_INSTANCE_VOXELS)
    .map((s) => ({
      id: 0,
      voxels: s.voxels,
      volumeMl: s.volumeMl,
      boxVoxels: s.boxVoxels,
      boxWorld: s.boxWorld,
      centroidWorld: s.centroidWorld,
      meanProbability: (s.intensity?.mean ?? 0) / 255,
    }))
    .sort((a, b) => b.meanProbability - a.meanProbability || b.voxels - a.voxels)
    .map((instance, n) => ({ ...instance, id: n + 1 }));
  return { statistics, instances, bestSlice: bestSlice(binary.data, volume) };
}

function toBinary(probability: Uint8Array): Uint8Array {
  const out = new Uint8Array(probability.length);
  for (let i = 0; i < probability.length; i++) out[i] = probability[i] ? 1 : 0;
  return out;
}

function bestSlice(mask: Uint8Array, volume: Volume): { axis: number; index: number } {
  const axis = axisMapping(volume.affine).worldAxis.indexOf(2);
  const [nx, ny, nz] = volume.dims;
  const counts = new Float64Array(volume.dims[axis]);
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) if (mask[index]) counts[axis === 0 ? i : axis === 1 ? j : k]++;
    }
  }
  let best = 0;
  for (let n = 1; n < counts.length; n++) if (counts[n] > counts[best]) best = n;
  return { axis, index: best };
}

/**
 * Keeps the components of a mask whose centroid lies on the patient's `side` of the body's midline.
 * In RAS+ world coordinates +x points to the patient's right.
 */
export function splitBySide(probability: Uint8Array, volume: Volume, side: 'left' | 'right'): Uint8Array {
  const binary = toBinary(probability);
  const components = connectedComponents({ dims: volume.dims, affine: volume.affine, data: binary, meta: volume.meta }, { connectivity: 26 });
  const midline = bodyMidlineX(volume);
  const out = new Uint8Array(probability.length);
  const [nx, ny] = volume.dims;
  // Per component: voxel count and the sums of i, j, k, for the centroid.
  const sums = new Float64Array(4 * (components.count + 1));
  for (let index = 0; index < binary.length; index++) {
    const id = components.labels[index];
    if (!id) continue;
    sums[4 * id] += 1;
    sums[4 * id + 1] += index % nx;
    sums[4 * id + 2] += Math.floor(index / nx) % ny;
    sums[4 * id + 3] += Math.floor(index / (nx * ny));
  }
  const keep = Array.from({ length: components.count + 1 }, (_, id) => {
    const n = sums[4 * id];
    if (id === 0 || n === 0) return false;
    const centroid = transformPoint(volume.affine, [sums[4 * id + 1] / n, sums[4 * id + 2] / n, sums[4 * id + 3] / n]);
    return isOnSide(centroid[0], midline, side);
  });
  for (let index = 0; index < binary.length; index++) if (keep[components.labels[index]]) out[index] = probability[index];
  return out;
}

function isOnSide(x: number, midline: number, side: 'left' | 'right'): boolean {
  return side === 'right' ? x > midline : x < midline;
}

/** World x of the body's centre: the mean position of voxels brighter than the image's mean. */
export function bodyMidlineX(volume: Volume): number {
  const data = volume.data;
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i];
  mean /= data.length;
  const [nx, ny] = volume.dims;
  let sumI = 0;
  let sumJ = 0;
  let sumK = 0;
  let count = 0;
  for (let index = 0; index < data.length; index++) {
    if (data[index] <= mean) continue;
    sumI += index % nx;
    sumJ += Math.floor(index / nx) % ny;
    sumK += Math.floor(index / (nx * ny));
    count++;
  }
  if (count === 0) return transformPoint(volume.affine, volume.dims.map((n) => (n - 1) / 2))[0];
  return transformPoint(volume.affine, [sumI / count, sumJ / count, sumK / count])[0];
}
