import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { thickenSlices, thickSlicePlan } from '../../src/eval/thick-slices.js';
import { assertClose, at, diagonalAffine, filled, obliqueAffine, worldOf } from '../ops/fixtures.js';

describe('thick slices (eval --thick-slices)', () => {
  it('stacks along the voxel axis nearest S-I, however the file stores it (LIA: axis 1)', () => {
    const lia = obliqueAffine([1, 1, 1], [0, 0, 0], [0, 0, 0], [0, 2, 1], [-1, -1, 1]);
    assert.deepEqual(thickSlicePlan({ affine: lia }, 5), { axis: 1, factor: 5 });
    assert.deepEqual(thickSlicePlan({ affine: diagonalAffine([0.9, 0.9, 1.2]) }, 6), { axis: 2, factor: 5 });
    assert.throws(() => thickSlicePlan({ affine: diagonalAffine([1, 1, 4]) }, 5), /already 4\.00 mm/);
  });

  it('averages the image over each slab and drops a partial slab at the end', () => {
    const image = filled([2, 3, 7], diagonalAffine([1, 1, 1]), new Int16Array(42), (i, j, k) => 100 * k + i);
    const thick = thickenSlices(image, 2, 3, 'mean');
    assert.deepEqual(thick.dims, [2, 3, 2]);
    assert.equal(at(thick, 1, 2, 0), 100 + 1); // mean of 1, 101, 201
    assert.equal(at(thick, 0, 0, 1), 400); // mean of 300, 400, 500; slice 6 dropped
  });

  it('puts each thick slice at its slab centre in the world, on an oblique grid along any axis', () => {
    const affine = obliqueAffine([0.8, 1.1, 0.9], [0.3, -0.2, 0.4], [5, -7, 11], [1, 2, 0], [1, -1, 1]);
    const image = filled([4, 9, 3], affine, new Float32Array(108), () => 0);
    const thick = thickenSlices({ ...image, spacing: [0.8, 1.1, 0.9] }, 1, 4, 'mean');
    assert.deepEqual(thick.dims, [4, 2, 3]);
    assert.deepEqual(thick.spacing, [0.8, 4.4, 0.9]);
    for (const slab of [0, 1]) {
      const first = worldOf(image, 2, 4 * slab, 1);
      const last = worldOf(image, 2, 4 * slab + 3, 1);
      assertClose(
        worldOf(thick, 2, slab, 1),
        [0, 1, 2].map((a) => (first[a] + last[a]) / 2),
        1e-9,
        `slab ${slab}`,
      );
    }
  });

  it('gives a label slab its most frequent label, a tie to the label nearest the middle, and keeps the type', () => {
    const values = [0, 3, 3, 0, 5, 5, 7, 7];
    const labels = filled([1, 1, 8], diagonalAffine([1, 1, 1]), new Uint8Array(8), (_i, _j, k) => values[k]);
    const thick = thickenSlices(labels, 2, 4, 'mode');
    assert.ok(thick.data instanceof Uint8Array);
    assert.deepEqual([...thick.data], [3, 5]); // 0,3,3,0: 3 twice, 0 twice, 3 is nearer the middle
  });
});
