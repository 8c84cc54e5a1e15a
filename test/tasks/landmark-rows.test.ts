import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetworkSpec } from '../../src/runtime/model-package.js';
import { withLandmarkRows } from '../../src/tasks/stages/groups.js';
import type { RequestPlan } from '../../src/tasks/stages/plan.js';
import { estimateRequestBytes, windowBytes } from '../../src/tasks/stages/prepare.js';
import { networkSpec } from '../helpers/network-spec.js';

function network(anchors: string[]): NetworkSpec {
  return networkSpec({
    id: 'brain',
    modalities: ['MR'],
    patchSize: [8, 8, 8],
    concepts: ['putamen', 'thalamus', 'third_ventricle'].map((id, index) => ({ id, index, calibration: {} })),
    anchors,
  });
}

describe('landmark rows (anchors)', () => {
  it('are run after the prompted rows, once, and not added when prompted', () => {
    const anchored = network(['third_ventricle']);
    assert.deepEqual(withLandmarkRows(anchored, [0]), [0, 2]);
    assert.deepEqual(withLandmarkRows(anchored, [2, 1]), [2, 1]);
    assert.deepEqual(withLandmarkRows(network([]), [0]), [0]);
  });

  it('are counted in the memory a request needs: one more map and one more input-grid row each', () => {
    const grid = {
      dims: [10, 10, 10] as [number, number, number],
      bytesPerVoxel: 2,
      spacing: [1, 1, 1] as [number, number, number],
    };
    const plan = (anchors: string[]) => ({ queries: new Map([[network(anchors), [0]]]) }) as unknown as RequestPlan;
    const extra =
      estimateRequestBytes(grid, plan(['third_ventricle']), false) - estimateRequestBytes(grid, plan([]), false);
    // a float32 map on the working grid (1000 voxels at 1 mm) and a byte per input voxel for its answer
    assert.equal(extra, 1000 * 4 + 1000);
    const windows = windowBytes(plan(['third_ventricle']), 1, false) - windowBytes(plan([]), 1, false);
    assert.equal(windows, 2 * 8 * 8 * 8 * 4);
  });
});
