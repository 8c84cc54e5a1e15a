import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transformPoint } from '../../src/core/affine.js';
import { cropToBox } from '../../src/ops/crop.js';
import { labelStatistics } from '../../src/ops/statistics.js';
import { assertClose, diagonalAffine, filled, obliqueAffine, random } from './fixtures.js';

describe('labelStatistics', () => {
  it('reads the intensities of a box in place as it reads those of the cropped volume', () => {
    const next = random(5);
    const affine = obliqueAffine([0.8, 1.2, 2.5], [0.4, -0.3, 0.2], [-20, 15, 40]);
    const image = filled([12, 9, 7], affine, new Float32Array(756), () => next() * 1000 - 500);
    const box = [3, 2, 1, 9, 6, 5] as const;
    const labels = filled([7, 5, 5], cropToBox(image, [...box]).affine, new Uint8Array(175), () =>
      Math.floor(next() * 3),
    );
    const cropped = labelStatistics(labels, cropToBox(image, [...box]));
    assert.deepEqual(labelStatistics(labels, image, { intensityBox: [...box] }), cropped);
    assert.throws(() => labelStatistics(labels, image, { intensityBox: [3, 2, 1, 9, 6, 7] }), /do not fill box/);
  });

  it('reports volume in mL on an anisotropic grid', () => {
    const labels = filled([6, 5, 4], diagonalAffine([0.5, 2, -3], [1, 2, 3]), new Uint8Array(120), (i, j, k) =>
      i < 2 && j < 5 && k === 1 ? 2 : 0,
    );
    const [stats] = labelStatistics(labels);
    assert.equal(stats.label, 2);
    assert.equal(stats.voxels, 10);
    assert.ok(Math.abs(stats.volumeMl - 0.03) < 1e-12);
    assert.equal(stats.intensity, null);
    assert.deepEqual(stats.boxVoxels, [0, 0, 1, 1, 4, 1]);
  });

  it('places the centroid and the box in world mm with an oblique affine', () => {
    const affine = obliqueAffine([0.8, 1.2, 2.5], [0.4, -0.3, 0.2], [-20, 15, 40]);
    const labels = filled([6, 5, 7], affine, new Uint16Array(210), (i, j, k) =>
      (i === 1 && j === 2 && k === 3) || (i === 3 && j === 2 && k === 5) ? 7 : 0,
    );
    const [stats] = labelStatistics(labels);
    assert.equal(stats.label, 7);
    assert.deepEqual(stats.centroidVoxel, [2, 2, 4]);
    assertClose(stats.centroidWorld, transformPoint(affine, [2, 2, 4]), 1e-9, 'centroid');
    assert.deepEqual(stats.boxVoxels, [1, 2, 3, 3, 2, 5]);
    const corners = [
      [1, 2, 3],
      [3, 2, 3],
      [1, 2, 5],
      [3, 2, 5],
    ].map((p) => transformPoint(affine, p));
    for (let a = 0; a < 3; a++) {
      assert.ok(Math.abs(stats.boxWorld.min[a] - Math.min(...corners.map((c) => c[a]))) < 1e-9);
      assert.ok(Math.abs(stats.boxWorld.max[a] - Math.max(...corners.map((c) => c[a]))) < 1e-9);
    }
  });

  it('computes exact intensity mean, std, min and max per label', () => {
    const affine = diagonalAffine([1, 1, 1]);
    const labels = filled([4, 2, 1], affine, new Uint8Array(8), (i, j) => (j === 0 ? 1 : i < 2 ? 3 : 0));
    const image = filled([4, 2, 1], affine, new Int16Array(8), (i, j) =>
      j === 0 ? [2, 4, 4, 6][i] : [-100, 100, 999, 999][i],
    );
    const stats = labelStatistics(labels, image);
    assert.deepEqual(
      stats.map((s) => s.label),
      [1, 3],
    );
    assert.deepEqual(stats[0].intensity, { mean: 4, std: Math.sqrt(2), min: 2, max: 6 });
    assert.deepEqual(stats[1].intensity, { mean: 0, std: 100, min: -100, max: 100 });
    const withBackground = labelStatistics(labels, image, { includeBackground: true });
    assert.equal(withBackground[0].label, 0);
    assert.deepEqual(withBackground[0].intensity, { mean: 999, std: 0, min: 999, max: 999 });
  });

  it('keeps the std accurate for float intensities far from zero', () => {
    const affine = diagonalAffine([1, 1, 1]);
    const labels = filled([4, 1, 1], affine, new Uint8Array(4), () => 1);
    const image = filled([4, 1, 1], affine, new Float64Array(4), (i) => 1e9 + [1, 2, 3, 4][i]);
    const [stats] = labelStatistics(labels, image);
    assert.equal(stats.intensity?.mean, 1e9 + 2.5);
    assert.ok(Math.abs((stats.intensity?.std ?? 0) - Math.sqrt(1.25)) < 1e-9);
  });

  it('matches direct per-voxel sums on a random piecewise-constant label map', () => {
    const rand = random(21);
    const affine = obliqueAffine([0.7, 0.9, 2], [0.1, 0.2, 0.3], [5, 6, 7]);
    let current = 0;
    const labels = filled(
      [17, 6, 5],
      affine,
      new Uint16Array(510),
      () => (current = rand() < 0.3 ? Math.floor(rand() * 4) : current),
    );
    const image = filled([17, 6, 5], affine, new Float32Array(510), () => Math.round(rand() * 200 - 100));
    for (const stats of labelStatistics(labels, image, { includeBackground: true })) {
      const voxels: number[][] = [];
      const values: number[] = [];
      for (let k = 0; k < 5; k++)
        for (let j = 0; j < 6; j++)
          for (let i = 0; i < 17; i++) {
            const index = i + 17 * (j + 6 * k);
            if (labels.data[index] !== stats.label) continue;
            voxels.push([i, j, k]);
            values.push(image.data[index]);
          }
      assert.equal(stats.voxels, voxels.length);
      const centroid = [0, 1, 2].map((a) => voxels.reduce((t, v) => t + v[a], 0) / voxels.length);
      assertClose(stats.centroidVoxel, centroid, 1e-9, `centroid of ${stats.label}`);
      const box = [0, 1, 2]
        .map((a) => Math.min(...voxels.map((v) => v[a])))
        .concat([0, 1, 2].map((a) => Math.max(...voxels.map((v) => v[a]))));
      assert.deepEqual(stats.boxVoxels, box);
      const mean = values.reduce((t, v) => t + v, 0) / values.length;
      const std = Math.sqrt(values.reduce((t, v) => t + (v - mean) ** 2, 0) / values.length);
      assert.ok(Math.abs((stats.intensity?.mean ?? NaN) - mean) < 1e-9);
      assert.ok(Math.abs((stats.intensity?.std ?? NaN) - std) < 1e-9);
      assert.equal(stats.intensity?.min, Math.min(...values));
      assert.equal(stats.intensity?.max, Math.max(...values));
    }
  });

  it('rejects mismatched grids and non-integer labels', () => {
    const affine = diagonalAffine([1, 1, 1]);
    const labels = filled([4, 1, 1], affine, new Float32Array(4), (i) => i * 0.5);
    assert.throws(() => labelStatistics(labels), /integer/);
    const ok = filled([4, 1, 1], affine, new Uint8Array(4), () => 1);
    assert.throws(() =>
      labelStatistics(
        ok,
        filled([3, 1, 1], affine, new Uint8Array(3), () => 1),
      ),
    );
  });
});
