import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dims3 } from '../../src/core/volume.js';
import {
  dropStrayIslands,
  keepLargestGroupPiece,
  describeMask,
  largestUnionPiece,
  splitBySide,
  withNewMask,
} from '../../src/tasks/mask-analysis.js';
import type { PromptResult } from '../../src/tasks/results.js';
import { diagonalAffine, volumeOf } from '../ops/fixtures.js';

const dims: Dims3 = [20, 10, 10];
const at = (i: number, j: number, k: number) => i + dims[0] * (j + dims[1] * k);

/** A 3x3x3 object (27 voxels at 0.9), a 2x2x1 island (4 at 0.8), a speck (1 at 0.7) and a halo at 0.3. */
function probabilities(): Float32Array {
  const p = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let k = 2; k < 5; k++) for (let j = 2; j < 5; j++) for (let i = 2; i < 5; i++) p[at(i, j, k)] = 0.9;
  for (const [i, j] of [
    [10, 2],
    [11, 2],
    [10, 3],
    [11, 3],
  ])
    p[at(i, j, 7)] = 0.8;
  p[at(17, 8, 8)] = 0.7;
  p[at(16, 8, 8)] = 0.3;
  return p;
}

describe('dropStrayIslands', () => {
  const grid = volumeOf(dims, diagonalAffine([1, 1, 1]), new Float32Array(0));

  it('zeroes islands under a tenth of the largest and keeps the others untouched', () => {
    const p = probabilities();
    const before = Float32Array.from(p);
    assert.equal(dropStrayIslands(p, grid), 1);
    assert.equal(p[at(17, 8, 8)], 0);
    // the object, the 4-voxel island (4 >= 2.7) and values under the threshold are as they were
    p[at(17, 8, 8)] = before[at(17, 8, 8)];
    assert.deepEqual(p, before);
  });

  it('keeps the largest island alone for a single-component concept', () => {
    const p = probabilities();
    assert.equal(dropStrayIslands(p, grid, { singleComponent: true }), 5);
    assert.equal(p[at(10, 2, 7)], 0);
    assert.equal(p[at(17, 8, 8)], 0);
    assert.equal(p[at(3, 3, 3)], Math.fround(0.9));
    assert.equal(p[at(16, 8, 8)], Math.fround(0.3), 'values under the threshold are not islands');
  });

  it('drops nothing when there is a single island or none', () => {
    const empty = new Float32Array(dims[0] * dims[1] * dims[2]);
    assert.equal(dropStrayIslands(empty, grid), 0);
    const single = new Float32Array(empty.length);
    single[at(5, 5, 5)] = 0.75;
    assert.equal(dropStrayIslands(single, grid), 0);
    assert.equal(single[at(5, 5, 5)], 0.75);
  });

  it('counts diagonal neighbours as connected (26-connectivity)', () => {
    const p = probabilities();
    p[at(17, 8, 8)] = 0;
    // a 3-voxel diagonal chain touching the object's corner stays part of it
    for (const n of [5, 6, 7]) p[at(n, n, n)] = 0.95;
    assert.equal(dropStrayIslands(p, grid), 0);
  });
});

describe('keepLargestGroupPiece', () => {
  const grid = volumeOf(dims, diagonalAffine([1, 1, 1]), new Float32Array(0));

  it("keeps the piece where the parts touch, even where one part's stray island outgrows its share of it", () => {
    // part A: 2 voxels touching part B's 3x3x3 block, and a stray 8-voxel island of its own far away
    const a = new Float32Array(dims[0] * dims[1] * dims[2]);
    const b = new Float32Array(a.length);
    for (let k = 2; k < 5; k++) for (let j = 2; j < 5; j++) for (let i = 2; i < 5; i++) b[at(i, j, k)] = 0.9;
    a[at(5, 3, 3)] = 0.8;
    a[at(6, 3, 3)] = 0.8;
    for (let k = 6; k < 8; k++) for (let j = 6; j < 8; j++) for (let i = 14; i < 16; i++) a[at(i, j, k)] = 0.7;
    const alone = Float32Array.from(a);
    dropStrayIslands(alone, grid, { singleComponent: true });
    assert.equal(alone[at(5, 3, 3)], 0, 'alone, the largest island of A is the stray one');
    assert.deepEqual(keepLargestGroupPiece([a, b], grid), [8, 0]);
    assert.equal(a[at(5, 3, 3)], Math.fround(0.8));
    assert.equal(a[at(14, 6, 6)], 0);
    assert.equal(b[at(3, 3, 3)], Math.fround(0.9), 'the kept piece is untouched');
  });

  it('drops nothing when every part is empty', () => {
    const empty = [new Float32Array(dims[0] * dims[1] * dims[2]), new Float32Array(dims[0] * dims[1] * dims[2])];
    assert.deepEqual(keepLargestGroupPiece(empty, grid), [0, 0]);
  });
});

describe('largestUnionPiece', () => {
  const grid = volumeOf(dims, diagonalAffine([1, 1, 1]), new Float32Array(0));

  it('is the largest piece of the union of 0..255 masks above the threshold, and undefined when empty', () => {
    // two byte masks touching at one face make the largest piece; a third voxel far away does not count
    const a = new Uint8Array(dims[0] * dims[1] * dims[2]);
    const b = new Uint8Array(a.length);
    a[at(2, 2, 2)] = 200;
    b[at(3, 2, 2)] = 100;
    a[at(15, 8, 8)] = 255;
    const piece = largestUnionPiece([a, b], grid, 0);
    assert.deepEqual(
      [...(piece ?? [])].flatMap((v, i) => (v ? [i] : [])),
      [at(2, 2, 2), at(3, 2, 2)],
    );
    assert.equal(largestUnionPiece([a, b], grid, 255), undefined, 'nothing is above 255');
  });
});

describe('withNewMask', () => {
  const volume = volumeOf(dims, diagonalAffine([2, 2, 2]), new Float32Array(dims[0] * dims[1] * dims[2]));
  /** A 3x3x3 cube and, unless `cubeOnly`, a 2x2x3 block beside it: 27 or 39 voxels at 200. */
  function mask(cubeOnly: boolean): Uint8Array {
    const out = new Uint8Array(volume.data.length);
    for (let k = 2; k < 5; k++) for (let j = 2; j < 5; j++) for (let i = 2; i < 5; i++) out[at(i, j, k)] = 200;
    if (!cubeOnly)
      for (let k = 2; k < 5; k++) for (let j = 2; j < 4; j++) for (let i = 10; i < 12; i++) out[at(i, j, k)] = 200;
    return out;
  }
  // the answer as it was before a check took the block away: its mask described on its own box
  const before = describeMask(mask(false), [0, 0, 0, dims[0] - 1, dims[1] - 1, dims[2] - 1], volume);
  const answer: PromptResult = {
    text: 'liver',
    status: 'present',
    score: 0.9,
    statistics: before.statistics,
    instances: before.instances,
    suggestions: [],
    notes: ['found'],
  };

  it('describes what is left of the mask again and adds the notes', () => {
    assert.equal(answer.statistics?.voxels, 39);
    assert.equal(answer.instances?.length, 2);
    const cube = mask(true);
    const kept = withNewMask(answer, cube, volume, ['0.10 mL went to the spleen'], 'nothing left');
    assert.equal(kept.status, 'present');
    assert.equal(kept.probability, cube);
    assert.equal(kept.statistics?.voxels, 27);
    assert.equal(kept.statistics?.volumeMl, (27 * 8) / 1000);
    assert.deepEqual(kept.statistics?.boxVoxels, [2, 2, 2, 4, 4, 4]);
    assert.equal(kept.instances?.length, 1);
    assert.deepEqual(kept.notes, ['found', '0.10 mL went to the spleen']);
  });

  it('answers absent, with the reason, where nothing of the mask is left', () => {
    const gone = withNewMask(answer, new Uint8Array(volume.data.length), volume, ['unused'], 'nothing left');
    assert.equal(gone.status, 'absent');
    assert.equal(gone.score, 0.5);
    assert.equal(gone.probability, undefined);
    assert.equal(gone.statistics, undefined);
    assert.equal(gone.instances, undefined);
    assert.deepEqual(gone.notes, ['found', 'not answered present: nothing left']);
  });
});

describe('splitBySide', () => {
  // Uniform image: the midline is the grid's centre, x = 9.5 mm; i <= 9 is the patient's left (RAS: +x right).
  const grid = volumeOf(dims, diagonalAffine([1, 1, 1]), new Float32Array(dims[0] * dims[1] * dims[2]));
  const fill = (mask: Uint8Array, [i0, i1]: [number, number], [j0, j1]: [number, number]) => {
    for (let k = 2; k < 4; k++) for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) mask[at(i, j, k)] = 200;
  };
  const columns = (mask: Uint8Array, j: number) =>
    Array.from({ length: dims[0] }, (_, i) => i).filter((i) => mask[at(i, j, 2)] > 0);

  it('cuts a structure of both sides at the midline and keeps one-sided ones whole', () => {
    const mask = new Uint8Array(dims[0] * dims[1] * dims[2]);
    fill(mask, [4, 15], [0, 1]); // both hemispheres' white matter, joined: half on each side
    fill(mask, [0, 10], [4, 5]); // a left structure grazing the midline by one column of eleven
    fill(mask, [16, 18], [8, 9]); // a right structure, apart
    const box: [number, number, number, number, number, number] = [0, 0, 2, 18, 9, 3];
    const left = splitBySide(mask, box, grid, 'left');
    const right = splitBySide(mask, box, grid, 'right');
    assert.deepEqual(columns(left.probability, 0), [4, 5, 6, 7, 8, 9]);
    assert.deepEqual(columns(right.probability, 0), [10, 11, 12, 13, 14, 15]);
    assert.deepEqual(columns(left.probability, 4), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'grazing: kept whole');
    assert.deepEqual(columns(right.probability, 4), []);
    assert.deepEqual(columns(right.probability, 8), [16, 17, 18]);
    assert.deepEqual(columns(left.probability, 8), []);
    assert.deepEqual(left.box, [0, 0, 2, 10, 5, 3]);
    assert.deepEqual(right.box, [10, 0, 2, 18, 9, 3]);
  });

  it('returns an empty mask and no box where nothing lies on the side', () => {
    const mask = new Uint8Array(dims[0] * dims[1] * dims[2]);
    fill(mask, [16, 18], [8, 9]);
    const left = splitBySide(mask, [16, 8, 2, 18, 9, 3], grid, 'left');
    assert.equal(left.box, null);
    assert.equal(
      left.probability.reduce((a, b) => a + b, 0),
      0,
    );
  });
});
