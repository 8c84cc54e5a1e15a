import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CROP_EXTENT_MM, fieldOfViewMm, scanScope } from '../../src/runtime/scan-scope.js';
import { makePhantomCt } from '../../src/core/phantom.js';

describe('scan scope', () => {
  it('measures the longest side of the grid in mm, from the stated spacing', () => {
    assert.equal(fieldOfViewMm(makePhantomCt({ dims: [20, 30, 10], spacing: [1, 1, 5] })), 50);
    assert.equal(fieldOfViewMm(makePhantomCt({ dims: [64, 64, 32], spacing: [2.5, 2.5, 4] })), 160);
  });

  it('reads the spacing from the affine when the file states none (an oblique grid)', () => {
    const volume = makePhantomCt({ dims: [40, 40, 10], spacing: [1, 1, 1] });
    const c = Math.SQRT1_2 * 3;
    // 3 mm voxels along two diagonal axes: 40 x 3 = 120 mm across
    const affine = [c, -c, 0, 0, c, c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    assert.ok(Math.abs(fieldOfViewMm({ dims: volume.dims, affine }) - 120) < 1e-9);
  });

  it(`calls a scan under ${CROP_EXTENT_MM} mm across a crop, and one of ${CROP_EXTENT_MM} mm or more whole`, () => {
    const scan = (n: number) => makePhantomCt({ dims: [n, 8, 8], spacing: [1, 1, 1] });
    assert.equal(scanScope(scan(40)), 'crop', 'an MSD hippocampus crop');
    assert.equal(scanScope(scan(CROP_EXTENT_MM - 1)), 'crop');
    assert.equal(scanScope(scan(CROP_EXTENT_MM)), 'whole');
    assert.equal(scanScope(scan(256)), 'whole', 'a whole-brain T1');
  });
});
