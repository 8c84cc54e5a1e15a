/**
 * The exact Euclidean distance transform (src/ops/distance.ts) that HD95, the lesion-in-organ check and
 * morphology's ball share: against brute force, in float64 and in place in float32, on grids with an
 * axis of one voxel.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dims3 } from '../../src/core/volume.js';
import { squaredDistanceInPlace, squaredDistanceTransform } from '../../src/ops/distance.js';

/** Squared mm distance from every voxel to the nearest seed, by trying them all. */
function bruteForce(dims: Dims3, spacing: number[], seeds: number[]): number[] {
  const position = (index: number) => [
    index % dims[0],
    Math.floor(index / dims[0]) % dims[1],
    Math.floor(index / (dims[0] * dims[1])),
  ];
  return Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, index) => {
    const p = position(index);
    return Math.min(...seeds.map((s) => position(s).reduce((sum, q, a) => sum + ((q - p[a]) * spacing[a]) ** 2, 0)));
  });
}

describe('squaredDistanceTransform and squaredDistanceInPlace', () => {
  for (const dims of [
    [6, 5, 4],
    [7, 1, 5],
    [1, 1, 9],
  ] as Dims3[])
    it(`match brute force on ${dims.join('x')} at 0.7 x 1.3 x 2.5 mm, float64 and float32 in place`, () => {
      const spacing = [0.7, 1.3, 2.5];
      const count = dims[0] * dims[1] * dims[2];
      const seeds = [0, Math.floor(count / 2), count - 2];
      const target = new Uint8Array(count);
      seeds.forEach((s) => (target[s] = 1));
      const expected = bruteForce(dims, spacing, seeds);
      const edt = squaredDistanceTransform(target, dims, spacing);
      expected.forEach((d, i) => assert.ok(Math.abs(edt[i] - d) < 1e-9, `voxel ${i}: ${edt[i]} vs ${d}`));
      const inPlace = Float32Array.from(target, (t) => (t ? 0 : Infinity));
      assert.equal(squaredDistanceInPlace(inPlace, dims, spacing), inPlace);
      // each axis pass stores float32: equal to float precision (morphology compares with a 1e-5 tolerance)
      edt.forEach((d, i) => assert.ok(Math.abs(inPlace[i] - d) <= 1e-6 * Math.max(1, d), `voxel ${i}: ${inPlace[i]}`));
    });

  it('leaves every voxel infinitely far when there is no target', () => {
    const edt = squaredDistanceTransform(new Uint8Array(24), [4, 3, 2], [1, 1, 1]);
    assert.ok(edt.every((d) => d === Infinity));
  });
});
