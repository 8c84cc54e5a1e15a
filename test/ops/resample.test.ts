import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transformPoint, voxelSizes } from '../../src/core/affine.js';
import { voxelCount, type Dims3 } from '../../src/core/volume.js';
import { planReorientation, reorient } from '../../src/ops/reorient.js';
import {
  gridForSpacing,
  resampleLabelsSmooth,
  resampleProbabilities,
  resampleReorientedToSpacing,
  resampleToGrid,
  resampleToSpacing,
  thresholdMask,
  voxelMapBetween,
} from '../../src/ops/resample.js';
import {
  assertClose,
  at,
  diagonalAffine,
  dice,
  distinctValues,
  filled,
  obliqueAffine,
  random,
  worldOf,
} from './fixtures.js';

const oblique = obliqueAffine([0.8, 0.8, 2], [0.2, -0.15, 0.3], [-40, 25, 60]);

describe('gridForSpacing', () => {
  it('keeps direction cosines, sets the spacing and keeps the extent centred', () => {
    const grid = { dims: [101, 80, 31] as Dims3, affine: oblique };
    const target = gridForSpacing(grid, [1.5, 1.5, 3]);
    assert.deepEqual(target.dims, [
      Math.round((101 * 0.8) / 1.5),
      Math.round((80 * 0.8) / 1.5),
      Math.round((31 * 2) / 3),
    ]);
    assertClose(voxelSizes(target.affine), [1.5, 1.5, 3], 1e-12, 'spacing');
    for (let c = 0; c < 3; c++) {
      const before = [0, 1, 2].map((r) => oblique[r * 4 + c] / voxelSizes(oblique)[c]);
      const after = [0, 1, 2].map((r) => target.affine[r * 4 + c] / voxelSizes(target.affine)[c]);
      assertClose(after, before, 1e-12, `direction ${c}`);
    }
    const centre = (d: readonly number[]) => d.map((n) => (n - 1) / 2);
    assertClose(
      transformPoint(target.affine, centre(target.dims)),
      transformPoint(oblique, centre(grid.dims)),
      1e-9,
      'centre',
    );
  });

  it('puts new voxel 0 between old voxels 0 and 1 when halving an even grid', () => {
    const grid = { dims: [10, 10, 10] as Dims3, affine: diagonalAffine([1, 1, 1]) };
    const target = gridForSpacing(grid, 2);
    assert.deepEqual(target.dims, [5, 5, 5]);
    assertClose(worldOf(target, 0, 0, 0), [0.5, 0.5, 0.5], 1e-12, 'origin');
  });
});

describe('resample', () => {
  const dims: Dims3 = [9, 8, 7];
  const rand = random(7);
  const image = filled(dims, oblique, new Int16Array(9 * 8 * 7), () => Math.round(rand() * 2000 - 1000));

  it('reproduces the data at the same spacing (linear and nearest)', () => {
    const linear = resampleToSpacing(image, voxelSizes(oblique), 'linear');
    assert.ok(linear.data instanceof Float32Array);
    assert.deepEqual(Array.from(linear.data), Array.from(image.data));
    assertClose(linear.affine, oblique, 1e-12, 'affine');
    const nearest = resampleToGrid(image, image, 'nearest');
    assert.ok(nearest.data instanceof Int16Array);
    assert.deepEqual(nearest.data, image.data);
    assert.deepEqual(nearest.affine, image.affine);
  });

  it('is exact on a linear ramp, axis-aligned and oblique target grids', () => {
    // value = a . world + b is linear in the voxel indices of any grid.
    const ramp = (p: readonly number[]) => 0.5 * p[0] - 0.25 * p[1] + 0.125 * p[2] + 3;
    const source = filled([20, 18, 16], oblique, new Float64Array(20 * 18 * 16), (i, j, k) =>
      ramp(worldOf({ affine: oblique }, i, j, k)),
    );
    const targets = [
      gridForSpacing(source, [0.55, 1.1, 1.3]),
      {
        dims: [14, 12, 10] as Dims3,
        affine: obliqueAffine([1, 1.2, 1.4], [0.5, 0.1, -0.4], transformPoint(oblique, [5, 4, 3])),
      },
    ];
    for (const target of targets) {
      const out = resampleToGrid(source, target, 'linear', { fill: NaN });
      const map = voxelMapBetween(source.affine, target.affine);
      let checked = 0;
      for (let k = 0; k < target.dims[2]; k++) {
        for (let j = 0; j < target.dims[1]; j++) {
          for (let i = 0; i < target.dims[0]; i++) {
            const c = [0, 1, 2].map((r) => map[r * 4] * i + map[r * 4 + 1] * j + map[r * 4 + 2] * k + map[r * 4 + 3]);
            if (!c.every((x, a) => x >= 0 && x <= source.dims[a] - 1)) continue; // clamped edge voxels are not linear
            checked++;
            const expected = ramp(worldOf(target, i, j, k));
            assert.ok(
              Math.abs(at(out, i, j, k) - expected) < 1e-4 * Math.max(1, Math.abs(expected)),
              `${at(out, i, j, k)} vs ${expected}`,
            );
          }
        }
      }
      assert.ok(checked > 100, `checked ${checked} voxels`);
    }
  });

  it('gives the same answer on the table path and the per-voxel path', () => {
    // Spacings whose mapped coordinates avoid exact half-voxel ties (which nearest may break either way).
    const target = gridForSpacing(image, [1.13, 0.61, 1.71]);
    const tilted = { dims: target.dims, affine: [...target.affine] };
    tilted.affine[1] += 1e-6; // a tiny shear defeats the axis-aligned tables
    for (const mode of ['linear', 'nearest'] as const) {
      const a = resampleToGrid(image, target, mode);
      const b = resampleToGrid(image, tilted, mode);
      let differing = 0;
      for (let i = 0; i < a.data.length; i++) if (Math.abs(a.data[i] - b.data[i]) > 0.05) differing++;
      assert.ok(differing <= a.data.length * 0.01, `${mode}: ${differing} voxels differ`);
    }
  });

  it('brings a block mask down and back onto the exact original grid (Dice > 0.95)', () => {
    // A 42 mm block, so that 3 mm voxels (up to 1.5 mm error per face) still give Dice > 0.95.
    const grid: Dims3 = [80, 72, 40];
    const affine = obliqueAffine([0.7, 0.75, 1.5], [0.1, 0.05, -0.2], [10, -20, 30]);
    const mask = filled(grid, affine, new Uint8Array(80 * 72 * 40), (i, j, k) =>
      i >= 10 && i < 70 && j >= 8 && j < 64 && k >= 6 && k < 34 ? 1 : 0,
    );
    for (const spacing of [1.5, 3]) {
      const low = resampleToSpacing(mask, spacing, 'nearest');
      assert.ok(low.data instanceof Uint8Array);
      const back = resampleToGrid(low, mask, 'nearest');
      assert.deepEqual(back.dims, mask.dims);
      assert.deepEqual(back.affine, mask.affine);
      assert.ok(dice(back.data, mask.data) > 0.95, `nearest at ${spacing} mm: Dice ${dice(back.data, mask.data)}`);
      // Probability path: interpolate the soft mask, threshold on the original grid.
      const soft = resampleToSpacing(mask, spacing, 'linear');
      const probabilities = resampleProbabilities(soft, mask);
      assert.ok(probabilities.data instanceof Float32Array);
      const thresholded = thresholdMask(probabilities, 0.5);
      assert.deepEqual(thresholded.affine, mask.affine);
      assert.ok(
        dice(thresholded.data, mask.data) > 0.95,
        `linear at ${spacing} mm: Dice ${dice(thresholded.data, mask.data)}`,
      );
    }
  });

  it('never invents label values (nearest and smooth label resampling)', () => {
    const values = [0, 3, 7, 250];
    const rand2 = random(3);
    const labels = filled([12, 11, 10], oblique, new Uint8Array(1320), () => values[Math.floor(rand2() * 4)]);
    const targets = [
      gridForSpacing(labels, [0.55, 1.3, 0.9]),
      {
        dims: [9, 9, 9] as Dims3,
        affine: obliqueAffine([1, 1, 1], [0.4, 0.3, 0.2], transformPoint(oblique, [2, 2, 2])),
      },
    ];
    for (const target of targets) {
      for (const out of [resampleToGrid(labels, target, 'nearest'), resampleLabelsSmooth(labels, target)]) {
        assert.ok(out.data instanceof Uint8Array);
        for (const v of distinctValues(out.data)) assert.ok(values.includes(v), `invented ${v}`);
      }
    }
  });

  it('fills target voxels outside the source and writes into a given buffer', () => {
    const source = filled([4, 4, 4], diagonalAffine([1, 1, 1]), new Int16Array(64), () => 100);
    const target = { dims: [8, 4, 4] as Dims3, affine: diagonalAffine([1, 1, 1], [2, 0, 0]) };
    const output = new Float32Array(128);
    const out = resampleToGrid(source, target, 'linear', { fill: -1024, output });
    assert.equal(out.data, output);
    for (let i = 0; i < 8; i++) assert.equal(at(out, i, 1, 1), i < 2 ? 100 : -1024, `i=${i}`);
    const nearest = resampleToGrid(source, target, 'nearest', { fill: -1024 });
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => at(nearest, i, 0, 0)),
      [100, 100, -1024, -1024],
    );
    assert.throws(() => resampleToGrid(source, target, 'linear', { output: new Int16Array(128) }));
    assert.throws(() => resampleToGrid(source, target, 'linear', { output: new Float32Array(5) }));
  });

  it('maps the half voxel beyond the edge voxel centres onto the edge voxels', () => {
    const source = filled([4, 1, 1], diagonalAffine([2, 1, 1]), new Float32Array(4), (i) => i * 10);
    const target = { dims: [8, 1, 1] as Dims3, affine: diagonalAffine([1, 1, 1], [-0.5, 0, 0]) };
    const out = resampleToGrid(source, target, 'linear', { fill: NaN });
    assert.deepEqual(Array.from(out.data), [0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30]);
  });
});

describe('resampleReorientedToSpacing', () => {
  // Grids of every kind prepareInput meets: LPS (DICOM), LIA (FreeSurfer), axes stored out of order, and
  // oblique with permuted axes; anisotropic voxels and odd sizes, so that every axis has edge cases.
  const grids: Record<string, number[]> = {
    LPS: diagonalAffine([-0.7, -0.8, 2.5], [90, 110, -40]),
    LIA: obliqueAffine([1.1, 0.9, 1.3], [0, 0, 0], [12, -7, 33], [0, 2, 1], [-1, -1, 1]),
    'stored z, x, y': obliqueAffine([3.1, 0.6, 0.75], [0, 0, 0], [-4, 6, 20], [2, 0, 1], [1, -1, 1]),
    'oblique, permuted': obliqueAffine([1.2, 0.9, 2.2], [0.3, -0.2, 0.25], [-5, 8, 13], [1, 2, 0], [1, -1, 1]),
  };
  const dims: Dims3 = [23, 17, 11];
  const spacings: Array<[number, number, number]> = [
    [1.5, 1.7, 2.9],
    [0.6, 2, 1.1],
  ];

  it('gives resampleToSpacing of the reoriented copy to the bit, linear and nearest, int16 to float64', () => {
    const next = random(29);
    const n = dims[0] * dims[1] * dims[2];
    for (const [name, affine] of Object.entries(grids)) {
      for (const data of [new Int16Array(n), new Float32Array(n), new Float64Array(n)]) {
        const volume = filled(dims, affine, data, () => Math.round((next() - 0.5) * 4000) + next());
        for (const code of ['RAS', 'LPS']) {
          const plan = planReorientation(volume, code);
          const reoriented = reorient(volume, code).volume;
          for (const spacing of spacings) {
            const what = `${name} ${data.constructor.name} -> ${code} at ${spacing.join('x')} mm`;
            // assert/strict compares typed arrays byte for byte: -0 against 0 or one ulp fails
            for (const mode of ['linear', 'nearest'] as const) {
              const expected = resampleToSpacing(reoriented, spacing, mode);
              assert.deepEqual(resampleReorientedToSpacing(volume, plan, spacing, mode), expected, `${what}, ${mode}`);
            }
            // float64 out keeps what rounding to float32 would hide: the same neighbours, weights and order of operations
            const voxels = voxelCount(gridForSpacing(reoriented, spacing).dims);
            const expected = resampleToSpacing(reoriented, spacing, 'linear', { output: new Float64Array(voxels) });
            const actual = resampleReorientedToSpacing(volume, plan, spacing, 'linear', {
              output: new Float64Array(voxels),
            });
            assert.deepEqual(actual, expected, `${what}, linear into float64`);
          }
        }
      }
    }
  });

  it('reads the original data in place: the source is not copied or changed', () => {
    const volume = filled(dims, grids.LPS, new Float32Array(dims[0] * dims[1] * dims[2]), (i, j, k) => i + 100 * j + k);
    const before = volume.data.slice();
    const out = resampleReorientedToSpacing(volume, planReorientation(volume, 'RAS'), [0.7, 0.8, 2.5], 'nearest');
    assert.deepEqual(volume.data, before);
    // same spacing: RAS voxel (0, 0, 0) is LPS voxel (22, 16, 0), the far end of the two flipped axes
    assert.equal(at(out, 0, 0, 0), 22 + 100 * 16);
    assert.equal(at(out, 22, 16, 10), 0 + 10);
  });
});
