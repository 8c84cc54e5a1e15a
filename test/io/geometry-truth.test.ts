import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromNested } from '../../src/core/affine.js';
import { orientationOf, spacingOf } from '../../src/core/volume.js';
import { readVolume } from '../../src/io/read.js';
import { loadGeometryTruth, sharedDir, SHARED_MISSING, type GeometryTruth } from '../helpers/shared.js';

const shared = sharedDir();

/** Compares one file (all its volumes when 4D) with nibabel's reading of it. */
async function checkAgainstTruth(root: string, truth: GeometryTruth): Promise<void> {
  const file = join(root, truth.path);
  const frames = truth.shape.slice(3).reduce((a, b) => a * b, 1);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  let sawNaN = false;
  for (let frame = 0; frame < frames; frame++) {
    const volume = await readVolume(file, frames > 1 ? { volume: frame } : {});
    assert.deepEqual(volume.dims, [truth.shape[0], truth.shape[1] ?? 1, truth.shape[2] ?? 1], 'shape');
    const expected = fromNested(truth.affine_ras);
    volume.affine.forEach((v, i) =>
      assert.ok(Math.abs(v - expected[i]) <= 1e-4, `affine[${i}] ${v} != ${expected[i]}`),
    );
    spacingOf(volume).forEach((s, i) =>
      assert.ok(Math.abs(s - truth.voxel_size_mm[i]) <= 1e-4, `voxel size ${i}: ${s} != ${truth.voxel_size_mm[i]}`),
    );
    assert.equal(orientationOf(volume), truth.orientation, 'orientation');
    for (let i = 0; i < volume.data.length; i++) {
      const v = volume.data[i];
      if (Number.isNaN(v)) sawNaN = true;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      count++;
    }
  }
  if (truth.min === null) {
    assert.ok(sawNaN, 'nibabel saw NaN values; so must we');
    return;
  }
  const tolerance = (x: number) => 1e-4 * Math.max(1, Math.abs(x));
  assert.ok(Math.abs(min - truth.min) <= tolerance(truth.min), `min ${min} != ${truth.min}`);
  assert.ok(Math.abs(max - (truth.max ?? NaN)) <= tolerance(truth.max ?? 0), `max ${max} != ${truth.max}`);
  // nibabel's mean is rounded to 4 decimals.
  assert.ok(
    Math.abs(sum / count - (truth.mean ?? NaN)) <= 1e-3 * Math.max(1, Math.abs(truth.mean ?? 0)),
    `mean ${sum / count} != ${truth.mean}`,
  );
}

describe('readers agree with nibabel on the conformance files', { skip: shared ? false : SHARED_MISSING }, () => {
  const root = join(shared ?? '', 'conformance');
  for (const truth of shared ? loadGeometryTruth(join(root, 'geometry-truth.json')) : []) {
    it(truth.path, () => checkAgainstTruth(root, truth));
  }
});

describe(
  'readers agree with nibabel on every volume in ../shared/data',
  { skip: shared ? false : SHARED_MISSING },
  () => {
    const root = join(shared ?? '', 'data');
    for (const truth of shared ? loadGeometryTruth(join(root, 'geometry-truth.json')) : []) {
      it(truth.path, () => checkAgainstTruth(root, truth));
    }
  },
);
