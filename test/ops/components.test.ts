import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dims3, Volume } from '../../src/core/volume.js';
import {
  connectedComponents,
  findRuns,
  foregroundTest,
  keepLargest,
  removeMinorComponents,
  removeSmall,
  type Connectivity,
} from '../../src/ops/components.js';
import { cropToBox } from '../../src/ops/crop.js';
import { boxSize, type VoxelBox } from '../../src/ops/grid.js';
import { countNonzero, diagonalAffine, filled, random, volumeOf } from './fixtures.js';

const affine = diagonalAffine([1, 1, 1]);

/** On a 10x6x4 grid, three separate components: 5 voxels around (8, 4, 2), 3 in a row and 1 at the origin. */
const DIMS_5_3_1: Dims3 = [10, 6, 4];
const VOXELS_5_3_1: Array<[number, number, number]> = [
  [0, 0, 0],
  [3, 0, 0],
  [4, 0, 0],
  [5, 0, 0],
  [8, 4, 2],
  [8, 5, 2],
  [9, 5, 2],
  [9, 5, 3],
  [8, 5, 3],
];
/** The index of (8, 4, 2), a voxel of the largest component. */
const IN_LARGEST_5_3_1 = 8 + 10 * (4 + 6 * 2);

function maskFrom(dims: Dims3, voxels: Array<[number, number, number]>): Volume {
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [i, j, k] of voxels) data[i + dims[0] * (j + dims[1] * k)] = 1;
  return volumeOf(dims, affine, data);
}

/** Flood fill over explicit neighbour offsets: the reference the run-based labelling must match. */
function referenceSizes(mask: Volume, connectivity: Connectivity): number[] {
  const [nx, ny, nz] = mask.dims;
  const offsets: Array<[number, number, number]> = [];
  for (let dk = -1; dk <= 1; dk++)
    for (let dj = -1; dj <= 1; dj++)
      for (let di = -1; di <= 1; di++) {
        const order = Math.abs(di) + Math.abs(dj) + Math.abs(dk);
        if (order > 0 && (connectivity === 26 || (connectivity === 18 && order <= 2) || order === 1))
          offsets.push([di, dj, dk]);
      }
  const seen = new Uint8Array(mask.data.length);
  const sizes: number[] = [];
  for (let start = 0; start < mask.data.length; start++) {
    if (!mask.data[start] || seen[start]) continue;
    const stack = [start];
    seen[start] = 1;
    let size = 0;
    while (stack.length) {
      const v = stack.pop() as number;
      size++;
      const i = v % nx;
      const j = Math.floor(v / nx) % ny;
      const k = Math.floor(v / (nx * ny));
      for (const [di, dj, dk] of offsets) {
        const a = i + di;
        const b = j + dj;
        const c = k + dk;
        if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue;
        const w = a + nx * (b + ny * c);
        if (mask.data[w] && !seen[w]) {
          seen[w] = 1;
          stack.push(w);
        }
      }
    }
    sizes.push(size);
  }
  return sizes.sort((a, b) => b - a);
}

describe('connectedComponents', () => {
  it('counts a corner-diagonal chain once with 26 and per voxel with 6', () => {
    const mask = maskFrom(
      [8, 8, 8],
      [
        [0, 0, 0],
        [1, 1, 1],
        [2, 2, 2],
        [5, 5, 5],
        [6, 5, 5],
        [6, 6, 5],
        [5, 6, 5],
      ],
    );
    assert.equal(connectedComponents(mask, { connectivity: 26 }).count, 2);
    assert.equal(connectedComponents(mask, { connectivity: 18 }).count, 4);
    const six = connectedComponents(mask, { connectivity: 6 });
    assert.equal(six.count, 4);
    assert.deepEqual(six.sizes, [4, 1, 1, 1]);
  });

  it('joins edge diagonals with 18 and 26 but not 6', () => {
    const mask = maskFrom(
      [4, 4, 4],
      [
        [0, 0, 0],
        [1, 1, 0],
        [1, 2, 1],
      ],
    );
    assert.deepEqual(
      [6, 18, 26].map((c) => connectedComponents(mask, { connectivity: c as Connectivity }).count),
      [3, 1, 1],
    );
  });

  it('numbers components by decreasing size and labels every voxel', () => {
    // and a fourth component of 2 voxels
    const mask = maskFrom(DIMS_5_3_1, [...VOXELS_5_3_1, [0, 5, 3], [0, 4, 3]]);
    const result = connectedComponents(mask, { connectivity: 6 });
    assert.equal(result.count, 4);
    assert.deepEqual(result.sizes, [5, 3, 2, 1]);
    assert.ok(result.labels instanceof Uint8Array);
    assert.equal(result.labels[IN_LARGEST_5_3_1], 1);
    assert.equal(result.labels[3], 2);
    assert.equal(result.labels[0 + 10 * (5 + 6 * 3)], 3);
    assert.equal(result.labels[0], 4);
    const counts = [0, 0, 0, 0, 0];
    for (const l of result.labels) counts[l]++;
    assert.deepEqual(counts.slice(1), result.sizes);
  });

  it('matches a flood fill on random masks for 6, 18 and 26', () => {
    for (const seed of [1, 2, 3]) {
      const rand = random(seed);
      const mask = filled([13, 11, 9], affine, new Uint8Array(13 * 11 * 9), () => (rand() < 0.3 ? 1 : 0));
      for (const connectivity of [6, 18, 26] as const) {
        const result = connectedComponents(mask, { connectivity });
        assert.deepEqual(result.sizes, referenceSizes(mask, connectivity), `seed ${seed}, ${connectivity}`);
        const counts = new Array<number>(result.count + 1).fill(0);
        for (let i = 0; i < mask.data.length; i++) {
          assert.equal(result.labels[i] !== 0, mask.data[i] !== 0);
          counts[result.labels[i]]++;
        }
        assert.deepEqual(counts.slice(1), result.sizes);
      }
    }
  });

  it('uses wider label arrays when there are many components', () => {
    const mask = filled([40, 40, 40], affine, new Uint8Array(64000), (i, j, k) =>
      i % 2 === 0 && j % 2 === 0 && k % 2 === 0 ? 1 : 0,
    );
    const result = connectedComponents(mask, { connectivity: 26 });
    assert.equal(result.count, 8000);
    assert.ok(result.labels instanceof Uint16Array);
  });

  it('selects one label value of a label map', () => {
    const labels = filled([6, 1, 1], affine, new Uint8Array(6), (i) => [2, 2, 3, 2, 0, 2][i]);
    const result = connectedComponents(labels, { label: 2 });
    assert.deepEqual(result.sizes, [2, 1, 1]);
    assert.deepEqual(Array.from(result.labels), [1, 1, 0, 2, 0, 3]);
  });
});

describe('findRuns on a box', () => {
  it('finds the runs of the box as those of its crop', () => {
    const next = random(3);
    const mask = filled([11, 8, 6], diagonalAffine([1, 1, 1]), new Uint8Array(528), () => (next() < 0.4 ? 1 : 0));
    const box: VoxelBox = [2, 1, 1, 8, 6, 4];
    const test = foregroundTest({});
    assert.deepEqual(
      findRuns(mask.data, mask.dims, test, box),
      findRuns(cropToBox(mask, box).data, boxSize(box), test),
    );
  });
});

describe('keepLargest and removeSmall', () => {
  const mask = maskFrom(DIMS_5_3_1, VOXELS_5_3_1);

  it('keeps the n largest components as a 0/1 mask', () => {
    const largest = keepLargest(mask, 1, { connectivity: 6 });
    assert.ok(largest.data instanceof Uint8Array);
    assert.equal(countNonzero(largest.data), 5);
    assert.equal(largest.data[IN_LARGEST_5_3_1], 1);
    assert.equal(countNonzero(keepLargest(mask, 2, { connectivity: 6 }).data), 8);
    assert.equal(countNonzero(keepLargest(mask, 10).data), 9);
  });

  it('removes components below a size', () => {
    const kept = removeSmall(mask, 2, { connectivity: 6 });
    assert.equal(countNonzero(kept.data), 8);
    assert.equal(kept.data[0], 0);
    assert.equal(countNonzero(removeSmall(mask, 6).data), 0);
    assert.deepEqual(kept.affine, mask.affine);
  });

  it('removes components below a fraction of the largest', () => {
    // sizes 5, 3, 1: 0.5 of the largest keeps 5 and 3, 0.7 only 5, 0 everything
    assert.equal(countNonzero(removeMinorComponents(mask, 0.5, { connectivity: 6 }).data), 8);
    const onlyLargest = removeMinorComponents(mask, 0.7, { connectivity: 6 });
    assert.equal(countNonzero(onlyLargest.data), 5);
    assert.equal(onlyLargest.data[IN_LARGEST_5_3_1], 1);
    assert.equal(countNonzero(removeMinorComponents(mask, 0, { connectivity: 6 }).data), 9);
    assert.throws(() => removeMinorComponents(mask, 1.5), /minFraction must be in \[0, 1\]/);
  });
});
