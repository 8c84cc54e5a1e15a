import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VoxelArray } from '../../src/core/volume.js';
import {
  clipPercentiles,
  meanAndStd,
  percentile,
  percentiles,
  windowIntensities,
  zScore,
} from '../../src/ops/normalize.js';
import { diagonalAffine, random, volumeOf } from './fixtures.js';

function line(data: VoxelArray) {
  return volumeOf([data.length, 1, 1], diagonalAffine([1, 1, 1]), data);
}

/** numpy.percentile (method "linear") by sorting, for comparison. */
function sortedPercentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (p / 100) * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

describe('windowIntensities', () => {
  it('clips to the window and scales to the range', () => {
    const ct = line(Int16Array.from([-3000, -1000, 0, 500, 1000, 2000]));
    assert.deepEqual(Array.from(windowIntensities(ct, { min: -1000, max: 1000 }).data), [0, 0, 0.5, 0.75, 1, 1]);
    assert.deepEqual(
      Array.from(windowIntensities(ct, { centre: 0, width: 2000 }, [-1, 1]).data),
      [-1, -1, 0, 0.5, 1, 1],
    );
    assert.ok(windowIntensities(ct, { min: 0, max: 1 }).data instanceof Float32Array);
    assert.throws(() => windowIntensities(ct, { centre: 40, width: 0 }));
  });
});

describe('percentile', () => {
  it('follows numpy linear interpolation on integer data', () => {
    const data = Int16Array.from({ length: 101 }, (_, i) => 100 - i);
    assert.deepEqual(percentiles(data, [0, 0.5, 50, 99.5, 100]), [0, 0.5, 50, 99.5, 100]);
    assert.equal(percentile(Uint8Array.from([1, 2, 3, 4]), 50), 2.5);
    const ct = Int16Array.from([-1024, -1024, 40, 60, 0, 700]);
    assert.equal(percentile(ct, 50, { nonzero: true }), 40);
    assert.equal(percentile(ct, 100, { mask: Uint8Array.from([1, 1, 1, 1, 0, 0]) }), 60);
    assert.equal(percentile(Int32Array.from([5, -3, 1000000]), 50), 5);
  });

  it('is exact on float data large enough to need narrowing passes', () => {
    const rand = random(11);
    const values = Array.from({ length: 300000 }, () =>
      rand() < 0.3 ? 0 : Math.exp(rand() * 8) * (rand() < 0.5 ? -1 : 1),
    );
    const data = Float32Array.from(values);
    const stored = Array.from(data);
    for (const p of [0, 0.5, 25, 50, 99.5, 100])
      assert.equal(percentile(data, p), sortedPercentile(stored, p), `p${p}`);
    const nonzero = stored.filter((v) => v !== 0);
    assert.equal(percentile(data, 99.5, { nonzero: true }), sortedPercentile(nonzero, 99.5));
    const mask = Uint8Array.from(stored, (_, i) => (i % 3 === 0 ? 1 : 0));
    assert.equal(
      percentile(data, 0.5, { mask }),
      sortedPercentile(
        stored.filter((_, i) => i % 3 === 0),
        0.5,
      ),
    );
  });

  it('skips NaN, and gives NaN when nothing is selected', () => {
    assert.equal(percentile(Float32Array.from([NaN, 1, 3, NaN]), 50), 2);
    assert.ok(Number.isNaN(percentile(Float32Array.from([0, 0]), 50, { nonzero: true })));
    assert.throws(() => percentile(Float32Array.from([1]), 101));
  });
});

describe('MR normalisation', () => {
  it('clips to percentiles (optionally rescaled)', () => {
    const data = Int16Array.from({ length: 201 }, (_, i) => i);
    const { volume, low, high } = clipPercentiles(line(data), { lower: 0.5, upper: 99.5 });
    assert.equal(low, 1);
    assert.equal(high, 199);
    assert.equal(volume.data[0], 1);
    assert.equal(volume.data[200], 199);
    assert.equal(volume.data[100], 100);
    const scaled = clipPercentiles(line(data), { lower: 0.5, upper: 99.5, range: [0, 1] }).volume;
    assert.equal(scaled.data[0], 0);
    assert.equal(scaled.data[200], 1);
    assert.equal(scaled.data[100], 99 / 198);
  });

  it('z-scores to the exact mean and population std', () => {
    const { volume, mean, std } = zScore(line(Int16Array.from([1, 2, 3, 4])));
    assert.equal(mean, 2.5);
    assert.equal(std, Math.sqrt(1.25));
    assert.deepEqual(
      Array.from(volume.data),
      [1, 2, 3, 4].map((v) => Math.fround((v - 2.5) / Math.sqrt(1.25))),
    );
  });

  it('z-scores inside a mask or the nonzero voxels, zeroing the rest', () => {
    const data = Float32Array.from([0, 10, 20, 0, 30, 1000]);
    const nonzero = zScore(line(data), { nonzero: true });
    assert.equal(nonzero.mean, 265);
    assert.equal(nonzero.volume.data[0], 0);
    assert.equal(nonzero.volume.data[3], 0);
    const mask = Uint8Array.from([0, 1, 1, 0, 1, 0]);
    const masked = zScore(line(data), { mask });
    assert.equal(masked.mean, 20);
    assert.equal(masked.volume.data[5], 0);
    const inside = Float32Array.from([1, 2, 4].map((i) => masked.volume.data[i]));
    const { mean, std } = meanAndStd(inside);
    assert.ok(Math.abs(mean) < 1e-6 && Math.abs(std - 1) < 1e-6);
  });

  it('z-scores after clipping to percentiles', () => {
    const data = Int16Array.from({ length: 201 }, (_, i) => (i === 200 ? 30000 : i));
    const { mean } = zScore(line(data), { clipPercentiles: [0, 99] });
    const clipped = Array.from(data, (v) => Math.min(v, 198));
    assert.ok(Math.abs(mean - clipped.reduce((a, b) => a + b, 0) / 201) < 1e-9);
  });
});
