import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dice, hausdorff95, surface } from '../../src/eval/metrics.js';
import { squaredDistanceTransform } from '../../src/ops/distance.js';

function box(dims: [number, number, number], from: number[], to: number[]): Uint8Array {
  const out = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let k = from[2]; k <= to[2]; k++)
    for (let j = from[1]; j <= to[1]; j++)
      for (let i = from[0]; i <= to[0]; i++) out[i + dims[0] * (j + dims[1] * k)] = 1;
  return out;
}

describe('distance transform', () => {
  it('matches brute force on an anisotropic grid', () => {
    const dims: [number, number, number] = [9, 7, 5];
    const spacing = [0.5, 1.25, 3];
    const target = new Uint8Array(9 * 7 * 5);
    const seeds = [3, 40, 101, 250, 301];
    seeds.forEach((s) => (target[s] = 1));
    const edt = squaredDistanceTransform(target, dims, spacing);
    for (let index = 0; index < target.length; index++) {
      const p = [index % 9, Math.floor(index / 9) % 7, Math.floor(index / 63)];
      const best = Math.min(
        ...seeds.map((s) =>
          [s % 9, Math.floor(s / 9) % 7, Math.floor(s / 63)].reduce(
            (sum, q, a) => sum + ((q - p[a]) * spacing[a]) ** 2,
            0,
          ),
        ),
      );
      assert.ok(Math.abs(edt[index] - best) < 1e-9, `voxel ${index}: ${edt[index]} vs ${best}`);
    }
  });
});

describe('segmentation metrics', () => {
  const dims: [number, number, number] = [20, 20, 20];
  it('Dice of identical, disjoint and half-overlapping masks', () => {
    const a = box(dims, [2, 2, 2], [5, 5, 5]);
    assert.equal(dice(a, a), 1);
    assert.equal(dice(a, box(dims, [10, 10, 10], [12, 12, 12])), 0);
    assert.equal(dice(a, box(dims, [2, 2, 4], [5, 5, 7])), 0.5);
  });

  it('HD95 of a box shifted by 3 voxels is 3 voxel widths in mm', () => {
    const a = box(dims, [4, 4, 4], [12, 12, 12]);
    const b = box(dims, [7, 4, 4], [15, 12, 12]);
    assert.equal(hausdorff95(a, b, dims, [2, 1, 1]), 6);
    assert.equal(hausdorff95(a, a, dims, [1, 1, 1]), 0);
    assert.ok(Number.isNaN(hausdorff95(a, new Uint8Array(a.length), dims, [1, 1, 1])));
  });

  it('surface keeps only boundary voxels', () => {
    const a = box(dims, [4, 4, 4], [6, 6, 6]);
    const s = surface(a, dims);
    assert.equal(
      s.reduce((n, v) => n + v, 0),
      26,
    );
  });
});
