import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dims3 } from '../../src/core/volume.js';
import {
  hausdorff95,
  normalizedSurfaceDice,
  surface,
  surfaceDistances,
  surfaceMetrics,
} from '../../src/eval/metrics.js';
import { squaredDistanceTransform } from '../../src/ops/distance.js';

function box(dims: Dims3, from: number[], to: number[]): Uint8Array {
  const out = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let k = from[2]; k <= to[2]; k++)
    for (let j = from[1]; j <= to[1]; j++)
      for (let i = from[0]; i <= to[0]; i++) out[i + dims[0] * (j + dims[1] * k)] = 1;
  return out;
}

/** Seeded uniform numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** A blobby mask: a few random boxes. */
function blobs(dims: Dims3, next: () => number, n: number): Uint8Array {
  const out = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let b = 0; b < n; b++) {
    const from = dims.map((d) => Math.floor(next() * d));
    const to = from.map((f, a) => Math.min(dims[a] - 1, f + Math.floor(next() * 5)));
    const part = box(dims, from, to);
    for (let i = 0; i < out.length; i++) out[i] |= part[i];
  }
  return out;
}

/** Normalised surface Dice by brute force: every surface voxel against every other surface voxel, in mm. */
function bruteForceNsd(a: Uint8Array, b: Uint8Array, dims: Dims3, spacing: number[], tolerance: number): number {
  const coordinates = (mask: Uint8Array) => {
    const s = surface(mask, dims);
    const out: number[][] = [];
    s.forEach((v, index) => {
      if (v)
        out.push([
          (index % dims[0]) * spacing[0],
          (Math.floor(index / dims[0]) % dims[1]) * spacing[1],
          Math.floor(index / (dims[0] * dims[1])) * spacing[2],
        ]);
    });
    return out;
  };
  const sa = coordinates(a);
  const sb = coordinates(b);
  if (!sa.length && !sb.length) return NaN;
  if (!sa.length || !sb.length) return 0;
  const nearest = (p: number[], to: number[][]) =>
    Math.min(...to.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2])));
  let within = 0;
  for (const p of sa) if (nearest(p, sb) <= tolerance + 1e-9) within++;
  for (const p of sb) if (nearest(p, sa) <= tolerance + 1e-9) within++;
  return within / (sa.length + sb.length);
}

/** hausdorff95 as it was before the surface-distance pass was shared (kept here to hold the refactor to it). */
function previousHausdorff95(a: Uint8Array, b: Uint8Array, dims: Dims3, spacing: number[]): number {
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

describe('normalised surface Dice (NSD)', () => {
  const dims: Dims3 = [20, 20, 20];
  // a 9x9x9 cube has 9^3 - 7^3 = 386 surface voxels
  const a = box(dims, [4, 4, 4], [12, 12, 12]);
  // the same cube 3 voxels further along x
  const b = box(dims, [7, 4, 4], [15, 12, 12]);
  // x 1 mm, y 2 mm, z 0.5 mm: the offset is 3 mm
  const spacing = [1, 2, 0.5];

  it('is 1 for identical masks, at any tolerance', () => {
    assert.equal(normalizedSurfaceDice(a, a, dims, spacing, 2), 1);
    assert.equal(normalizedSurfaceDice(a, a, dims, spacing, 0), 1);
  });

  it('counts the faces beyond 2 mm of two cubes 3 mm apart (anisotropic voxels)', () => {
    // Every surface voxel of b lies at x >= 7. a's face x = 4 (81 voxels) is 3 mm from b's face x = 7:
    // beyond 2 mm. a's voxels at x = 5 and 6 are 2 and 1 mm from it: within. a's face x = 12 lies inside
    // b: min(3 mm to b's face x = 15, 2 mm per voxel to the y faces, 0.5 mm per voxel to the z faces)
    // <= 4 * 0.5 = 2 mm: within. So 81 of 386 are beyond, and the same for b by symmetry.
    assert.equal(normalizedSurfaceDice(a, b, dims, spacing, 2), (2 * (386 - 81)) / (2 * 386));
    assert.equal(normalizedSurfaceDice(b, a, dims, spacing, 2), (386 - 81) / 386);
    // at 3 mm everything is within
    assert.equal(normalizedSurfaceDice(a, b, dims, spacing, 3), 1);
  });

  it('counts a voxel exactly at the tolerance as within, and one just beyond as not', () => {
    // just under 2 mm: a's ring at x = 5 (9 * 9 - 7 * 7 = 32 voxels, exactly 2 mm from x = 7) is beyond, and
    // so is the line z = 8, y = 5..11 of a's face x = 12 (7 voxels, 4 * 0.5 = 2 mm from the z faces, at
    // least 2 mm from the y faces): 81 + 32 + 7 = 120 beyond on each side
    assert.equal(normalizedSurfaceDice(a, b, dims, spacing, 1.999), (386 - 120) / 386);
    assert.equal(normalizedSurfaceDice(a, b, dims, spacing, 2), (386 - 81) / 386);
    // the x = 4 face is 3 mm away: 2.999 mm leaves it out, 3 mm takes it in
    assert.equal(normalizedSurfaceDice(a, b, dims, spacing, 2.999), (386 - 81) / 386);
    assert.equal(normalizedSurfaceDice(a, b, dims, spacing, 3), 1);
    // with 2 mm voxels along x, the 3-voxel offset is 6 mm; along y (2 mm voxels) the same offset as
    // along x with 1 mm voxels is not the same metric: spacing goes to the right axis
    assert.ok(normalizedSurfaceDice(a, b, dims, [2, 1, 0.5], 2) < (386 - 81) / 386);
    // 0.1 mm voxels, 12 voxels apart: exactly 1.2 mm, which the distance transform rounds to
    // 1.2000000000000002; still within a 1.2 mm tolerance
    const thin: Dims3 = [40, 6, 6];
    const p = box(thin, [2, 1, 1], [20, 4, 4]);
    const q = box(thin, [14, 1, 1], [32, 4, 4]);
    const tight = [0.1, 1, 1];
    assert.equal(normalizedSurfaceDice(p, q, thin, tight, 1.2), 1);
    assert.ok(normalizedSurfaceDice(p, q, thin, tight, 1.1) < 1);
  });

  it('is 0 with one mask empty and NaN with both', () => {
    const empty = new Uint8Array(a.length);
    assert.equal(normalizedSurfaceDice(a, empty, dims, spacing, 2), 0);
    assert.equal(normalizedSurfaceDice(empty, a, dims, spacing, 2), 0);
    assert.ok(Number.isNaN(normalizedSurfaceDice(empty, empty, dims, spacing, 2)));
    assert.deepEqual(surfaceMetrics(empty, a, dims, spacing, 2), { hd95: NaN, nsd: 0 });
  });

  it('matches brute force on random masks with anisotropic voxels', () => {
    const small: Dims3 = [12, 9, 7];
    const next = random(7);
    for (let trial = 0; trial < 12; trial++) {
      const p = blobs(small, next, 3);
      const q = blobs(small, next, 3);
      const sp = [0.5 + next() * 2, 0.5 + next() * 2, 0.5 + next() * 3];
      for (const tolerance of [0.5, 1, 2, 3.5]) {
        const got = normalizedSurfaceDice(p, q, small, sp, tolerance);
        const want = bruteForceNsd(p, q, small, sp, tolerance);
        assert.ok(Math.abs(got - want) < 1e-12, `trial ${trial}, ${tolerance} mm: ${got} vs ${want}`);
      }
    }
  });
});

describe('HD95 from the shared surface-distance pass', () => {
  it('keeps the values of hausdorff95 before the refactor', () => {
    const dims: Dims3 = [20, 20, 20];
    const a = box(dims, [4, 4, 4], [12, 12, 12]);
    const b = box(dims, [7, 4, 4], [15, 12, 12]);
    assert.equal(hausdorff95(a, b, dims, [2, 1, 1]), 6);
    assert.equal(surfaceMetrics(a, b, dims, [2, 1, 1], 2).hd95, 6);
    const small: Dims3 = [14, 11, 8];
    const next = random(11);
    for (let trial = 0; trial < 20; trial++) {
      const p = blobs(small, next, 4);
      const q = blobs(small, next, 4);
      const sp = [0.3 + next() * 2, 0.3 + next() * 2, 0.5 + next() * 4];
      const before = previousHausdorff95(p, q, small, sp);
      assert.equal(hausdorff95(p, q, small, sp), before);
      const both = surfaceMetrics(p, q, small, sp, 2);
      assert.equal(both.hd95, before);
      assert.equal(both.nsd, normalizedSurfaceDice(p, q, small, sp, 2));
    }
  });

  it('measures each surface voxel once each way', () => {
    const dims: Dims3 = [20, 20, 20];
    const a = box(dims, [4, 4, 4], [12, 12, 12]);
    const c = box(dims, [5, 5, 5], [7, 7, 7]);
    const d = surfaceDistances(a, c, dims, [1, 1, 1]);
    assert.equal(d.surfaceA, 386);
    assert.equal(d.surfaceB, 26);
    assert.equal(d.aToB.length, 386);
    assert.equal(d.bToA.length, 26);
  });
});
