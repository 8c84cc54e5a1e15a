import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dims3 } from '../../src/core/volume.js';
import { boundingBox, cropToBox, uncropBox } from '../../src/ops/crop.js';
import { boxIntersection, boxUnion } from '../../src/ops/grid.js';
import { assertClose, at, diagonalAffine, filled, obliqueAffine, worldOf } from './fixtures.js';

const dims: Dims3 = [6, 5, 4];
const affine = obliqueAffine([0.9, 1.1, 2.5], [0.3, 0.1, -0.2], [7, -3, 12]);
const volume = filled(dims, affine, new Int16Array(120), (i, j, k) => 1 + i + 10 * j + 100 * k);

describe('cropToBox', () => {
  it('keeps the world position of every kept voxel', () => {
    const cropped = cropToBox(volume, [1, 2, 1, 4, 4, 2]);
    assert.deepEqual(cropped.dims, [4, 3, 2]);
    assert.ok(cropped.data instanceof Int16Array);
    for (let k = 0; k < 2; k++) {
      for (let j = 0; j < 3; j++) {
        for (let i = 0; i < 4; i++) {
          assert.equal(at(cropped, i, j, k), at(volume, i + 1, j + 2, k + 1));
          assertClose(worldOf(cropped, i, j, k), worldOf(volume, i + 1, j + 2, k + 1), 1e-9, 'world');
        }
      }
    }
    assert.deepEqual(
      [0, 1, 2, 4, 5, 6, 8, 9, 10].map((e) => cropped.affine[e]),
      [0, 1, 2, 4, 5, 6, 8, 9, 10].map((e) => affine[e]),
    );
  });

  it('pads outside the volume with the pad value', () => {
    const padded = cropToBox(volume, [-2, -1, 0, 7, 5, 3], -1000);
    assert.deepEqual(padded.dims, [10, 7, 4]);
    assert.equal(at(padded, 0, 0, 0), -1000);
    assert.equal(at(padded, 9, 6, 3), -1000);
    assert.equal(at(padded, 2, 1, 0), at(volume, 0, 0, 0));
    assertClose(worldOf(padded, 2, 1, 0), worldOf(volume, 0, 0, 0), 1e-9, 'world of voxel 0');
    assertClose(worldOf(padded, 7, 5, 3), worldOf(volume, 5, 4, 3), 1e-9, 'world of the last voxel');
    let inside = 0;
    for (let i = 0; i < padded.data.length; i++) if (padded.data[i] !== -1000) inside++;
    assert.equal(inside, 120);
  });

  it('is undone by cropping with uncropBox', () => {
    const box: [number, number, number, number, number, number] = [1, 1, 1, 3, 3, 2];
    const cropped = cropToBox(volume, box);
    const back = cropToBox(cropped, uncropBox(box, dims));
    assert.deepEqual(back.dims, dims);
    assertClose(back.affine, affine, 1e-9, 'affine');
    for (let k = 0; k < 4; k++) {
      for (let j = 0; j < 5; j++) {
        for (let i = 0; i < 6; i++) {
          const inBox = i >= 1 && i <= 3 && j >= 1 && j <= 3 && k >= 1 && k <= 2;
          assert.equal(at(back, i, j, k), inBox ? at(volume, i, j, k) : 0);
        }
      }
    }
  });

  it('rejects inverted or fractional boxes', () => {
    assert.throws(() => cropToBox(volume, [3, 0, 0, 2, 1, 1]));
    assert.throws(() => cropToBox(volume, [0.5, 0, 0, 2, 1, 1]));
  });
});

describe('boundingBox', () => {
  const mask = filled([10, 9, 8], diagonalAffine([1, 1, 1]), new Uint8Array(720), (i, j, k) =>
    i === 2 && j === 3 && k === 4 ? 1 : i === 6 && j === 5 && k === 5 ? 2 : 0,
  );

  it('finds the nonzero voxels, with a margin clamped to the volume', () => {
    assert.deepEqual(boundingBox(mask), [2, 3, 4, 6, 5, 5]);
    assert.deepEqual(boundingBox(mask, { margin: 3 }), [0, 0, 1, 9, 8, 7]);
    assert.deepEqual(boundingBox(mask, { margin: [1, 0, 2], clamp: false }), [1, 3, 2, 7, 5, 7]);
    assert.deepEqual(boundingBox(mask, { margin: 4, clamp: false }), [-2, -1, 0, 10, 9, 9]);
  });

  it('selects one label, and gives null when nothing is there', () => {
    assert.deepEqual(boundingBox(mask, { label: 2 }), [6, 5, 5, 6, 5, 5]);
    assert.equal(boundingBox(mask, { label: 9 }), null);
    assert.equal(boundingBox({ ...mask, data: new Uint8Array(720) }), null);
  });
});

describe('boxUnion and boxIntersection', () => {
  it('the union holds every box given, skipping absent ones; none given is null', () => {
    assert.deepEqual(boxUnion([[1, 2, 3, 4, 5, 6], null, [0, 4, 5, 2, 9, 5], undefined]), [0, 2, 3, 4, 9, 6]);
    assert.deepEqual(boxUnion([[1, 1, 1, 2, 2, 2]]), [1, 1, 1, 2, 2, 2]);
    assert.equal(boxUnion([null, undefined]), null);
  });

  it('the intersection is the voxels both hold (inclusive bounds), null when they share none', () => {
    assert.deepEqual(boxIntersection([0, 0, 0, 5, 5, 5], [3, 4, 5, 9, 9, 9]), [3, 4, 5, 5, 5, 5]);
    assert.deepEqual(boxIntersection([0, 0, 0, 5, 5, 5], [5, 5, 5, 6, 6, 6]), [5, 5, 5, 5, 5, 5]);
    assert.equal(boxIntersection([0, 0, 0, 5, 5, 5], [6, 0, 0, 9, 5, 5]), null);
    assert.equal(boxIntersection([0, 0, 0, 5, 5, 5], undefined), null);
  });
});
