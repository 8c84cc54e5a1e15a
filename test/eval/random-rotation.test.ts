import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { multiply4, type Mat4 } from '../../src/core/affine.js';
import { randomRotation, turned } from '../../src/eval/random-rotation.js';
import { diagonalAffine, volumeOf } from '../ops/fixtures.js';

const entry = (m: Mat4, row: number, col: number) => m[4 * row + col];

function determinant3(m: Mat4): number {
  const a = (r: number, c: number) => entry(m, r, c);
  return (
    a(0, 0) * (a(1, 1) * a(2, 2) - a(1, 2) * a(2, 1)) -
    a(0, 1) * (a(1, 0) * a(2, 2) - a(1, 2) * a(2, 0)) +
    a(0, 2) * (a(1, 0) * a(2, 1) - a(1, 1) * a(2, 0))
  );
}

describe('randomRotation', () => {
  it('is a proper rotation (orthonormal, determinant +1, no translation), the same for the same seed', () => {
    for (let seed = 0; seed < 50; seed++) {
      const r = randomRotation(seed);
      const rrT = multiply4(r, [
        ...[0, 1, 2].flatMap((c) => [entry(r, 0, c), entry(r, 1, c), entry(r, 2, c), 0]),
        0,
        0,
        0,
        1,
      ] as Mat4);
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) assert.ok(Math.abs(entry(rrT, i, j) - (i === j ? 1 : 0)) < 1e-12);
      assert.ok(Math.abs(determinant3(r) - 1) < 1e-12);
      assert.deepEqual([entry(r, 0, 3), entry(r, 1, 3), entry(r, 2, 3), entry(r, 3, 3)], [0, 0, 0, 1]);
      assert.deepEqual(randomRotation(seed), r);
    }
    assert.notDeepEqual(randomRotation(1), randomRotation(2));
  });

  it('is uniform over orientations: no mean turn, and a stack axis ends nearest each world axis a third of the time', () => {
    const draws = 3000;
    const sum = new Array<number>(9).fill(0);
    const nearest = [0, 0, 0];
    for (let seed = 0; seed < draws; seed++) {
      const r = randomRotation(seed * 100_003);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) sum[3 * i + j] += entry(r, i, j);
      // where the voxel z axis (0, 0, 1) points after the turn
      const z = [entry(r, 0, 2), entry(r, 1, 2), entry(r, 2, 2)].map(Math.abs);
      nearest[z.indexOf(Math.max(...z))]++;
    }
    // a uniform rotation has expectation 0 in every entry (the identity would give 1 on the diagonal)
    for (const total of sum) assert.ok(Math.abs(total / draws) < 0.05, `mean entry ${total / draws}`);
    for (const count of nearest) assert.ok(Math.abs(count / draws - 1 / 3) < 0.04, `share ${count / draws}`);
  });
});

describe('turned', () => {
  it('turns the affine and keeps the voxels; without a rotation the volume is itself', () => {
    const volume = volumeOf([4, 3, 2], diagonalAffine([1, 2, 3]), new Float32Array(24).fill(7));
    const r = randomRotation(5);
    const t = turned(volume, r);
    assert.deepEqual(t.affine, multiply4(r, volume.affine));
    assert.equal(t.data, volume.data);
    assert.equal(turned(volume, undefined), volume);
  });
});
