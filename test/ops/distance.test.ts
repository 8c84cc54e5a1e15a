/**
 * The exact Euclidean distance transform (src/ops/distance.ts) that HD95, the lesion-in-organ check and
 * morphology's ball share: against brute force, in float64 and in place in float32, on grids with an
 * axis of one voxel.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dims3 } from '../../src/core/volume.js';
import { squaredDistanceInPlace, squaredDistanceTransform, squaredDistanceWithin } from '../../src/ops/distance.js';

/** Squared mm distance from every voxel to the nearest seed through a 4x4 row-major affine, by trying them all. */
function bruteForce(dims: Dims3, affine: number[], seeds: number[]): number[] {
  const position = (index: number) => [
    index % dims[0],
    Math.floor(index / dims[0]) % dims[1],
    Math.floor(index / (dims[0] * dims[1])),
  ];
  return Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, index) => {
    const p = position(index);
    return Math.min(
      ...seeds.map((s) => {
        const d = position(s).map((q, a) => p[a] - q);
        return [0, 1, 2].reduce(
          (sum, r) => sum + (affine[r * 4] * d[0] + affine[r * 4 + 1] * d[1] + affine[r * 4 + 2] * d[2]) ** 2,
          0,
        );
      }),
    );
  });
}

/** The affine of an orthogonal grid with these voxel sizes. */
function diagonal(spacing: number[]): number[] {
  return [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1];
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
      const expected = bruteForce(dims, diagonal(spacing), seeds);
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

describe('squaredDistanceWithin on a sheared grid (a gantry tilt of 20 degrees)', () => {
  const tilt = (20 * Math.PI) / 180;
  // 0.7 x 0.9 mm pixels whose columns rise with the tilt, slices 3 mm apart along the table: the k column
  // is 20 degrees off the slice plane's normal (as a tilted series reads, src/io/dicom/geometry.ts)
  const tilted = [0.7, 0, 0, 0, 0, 0.9 * Math.cos(tilt), 0, 0, 0, 0.9 * Math.sin(tilt), 3, 0, 0, 0, 0, 1];
  // every column oblique to every other: the in-plane axes are not perpendicular either
  const skewed = [0.8, 0.3, 0.2, 0, 0.1, 1.1, 0.5, 0, -0.2, 0.15, 2.5, 0, 0, 0, 0, 1];

  for (const [name, affine] of [
    ['20-degree tilt', tilted],
    ['skewed in every pair of axes', skewed],
  ] as const)
    it(`is exact within the limit and over it beyond (${name})`, () => {
      const dims: Dims3 = [9, 11, 7];
      const count = dims[0] * dims[1] * dims[2];
      const seeds = [4 + 9 * (5 + 11 * 3), 1 + 9 * (2 + 11 * 1), count - 3];
      const distance = new Float64Array(count).fill(Infinity);
      seeds.forEach((s) => (distance[s] = 0));
      const limit = 4.5;
      squaredDistanceWithin(distance, dims, affine, limit);
      const expected = bruteForce(dims, [...affine], seeds);
      let within = 0;
      expected.forEach((d, i) => {
        if (d <= limit * limit) {
          within++;
          assert.ok(Math.abs(distance[i] - d) < 1e-9, `voxel ${i}: ${distance[i]} vs ${d}`);
        } else assert.ok(distance[i] > limit * limit, `voxel ${i}: ${distance[i]} beyond the limit, truly ${d}`);
      });
      assert.ok(within > 40, `${within} voxels within the limit`);
    });

  it('measures hand-computed offsets that per-axis spacing gets wrong', () => {
    // voxel (4, 5, 3) and targets one plane up: offset (0, -2, 1) and (0, 2, 1) from them
    const dims: Dims3 = [9, 11, 7];
    const at = (i: number, j: number, k: number) => i + 9 * (j + 11 * k);
    for (const [dj, truth] of [
      // A d = (0, -1.8 cos 20, 3 - 1.8 sin 20): 2.92 mm; per-axis spacing said sqrt(1.8^2 + 3^2) = 3.50 mm
      [-2, Math.hypot(1.8 * Math.cos(tilt), 3 - 1.8 * Math.sin(tilt))],
      // A d = (0, 1.8 cos 20, 3 + 1.8 sin 20): 3.99 mm, not 3.50
      [2, Math.hypot(1.8 * Math.cos(tilt), 3 + 1.8 * Math.sin(tilt))],
    ]) {
      const target = new Uint8Array(9 * 11 * 7);
      target[at(4, 5 + dj, 4)] = 1;
      const old = squaredDistanceTransform(target, dims, [0.7, 0.9, 3])[at(4, 5, 3)];
      assert.ok(Math.abs(Math.sqrt(old) - Math.hypot(1.8, 3)) < 1e-12);
      const exact = squaredDistanceWithin(
        Float64Array.from(target, (t) => (t ? 0 : Infinity)),
        dims,
        tilted,
        5,
      );
      assert.ok(Math.abs(Math.sqrt(exact[at(4, 5, 3)]) - truth) < 1e-9, `${Math.sqrt(exact[at(4, 5, 3)])} vs ${truth}`);
    }
  });

  it('is the separable transform, bit for bit, on an orthogonal grid', () => {
    const dims: Dims3 = [6, 5, 4];
    const target = new Uint8Array(120);
    [3, 60, 117].forEach((s) => (target[s] = 1));
    const plain = squaredDistanceTransform(target, dims, [0.7, 1.3, 2.5]);
    const affine = [0, 0, 2.5, 1, 0.7, 0, 0, 2, 0, 1.3, 0, 3, 0, 0, 0, 1]; // permuted axes, still orthogonal
    const within = squaredDistanceWithin(
      Float64Array.from(target, (t) => (t ? 0 : Infinity)),
      dims,
      affine,
      1,
    );
    assert.deepEqual(Array.from(within), Array.from(plain));
  });
});
