import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { axisMapping, orientationCode } from '../../src/core/orientation.js';

/**
 * A strongly oblique short-axis cine stack (MS-CMRSeg 2019 case 08's affine, 1.25 x 1.25 x 7.99 mm):
 * its first voxel axis is almost equally near world x and y, so the two ways of naming the axes differ.
 */
const obliqueCine = [
  -0.8433396, -0.5425962, 4.769938, 106.82492, -0.8589311, 0.0925231, -5.774693, 197.54607, -0.3369209, 1.1222874,
  2.7822134, -51.14114, 0, 0, 0, 1,
];

describe('orientationCode', () => {
  it("names a strongly oblique stack's axes as nibabel's aff2axcodes does", () => {
    // nibabel: ('P', 'S', 'R'); taking the strongest alignments first would give 'LSP'
    assert.equal(orientationCode(obliqueCine), 'PSR');
  });

  it('leaves the working-grid mapping (strongest alignments first, the model contract) unchanged', () => {
    assert.deepEqual(axisMapping(obliqueCine), { worldAxis: [0, 2, 1], sign: [-1, 1, -1] });
  });

  it('names axis-aligned and mildly oblique affines by their nearest axes', () => {
    assert.equal(orientationCode([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), 'RAS');
    assert.equal(orientationCode([-1, 0, 0, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 0, 0, 1]), 'LIA');
    assert.equal(orientationCode([0.9, 0.2, 0, 0, -0.1, 0, -3, 0, 0, 1.1, 0.3, 0, 0, 0, 0, 1]), 'RSP');
  });

  it('gives an axis without direction (a zero column) the world axis the others leave', () => {
    assert.equal(orientationCode([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 'SAR');
  });
});
