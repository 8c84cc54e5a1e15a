import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import type { Vec3 } from '../../../src/core/affine.js';
import { describeVolume, formatDescription } from '../../../src/cli/describe.js';
import { MedparseError } from '../../../src/core/errors.js';
import { orientationOf, spacingOf, voxelVolumeMl } from '../../../src/core/volume.js';
import { stackGeometry } from '../../../src/io/dicom/geometry.js';
import type { PlacedSlice } from '../../../src/io/dicom/geometry.js';
import { readDicomSeries } from '../../../src/io/dicom/index.js';
import type { SeriesSpec } from './make-series.js';
import { writeSeries } from './make-series.js';
import { makeTempDir, maxAbsDifference } from '../../helpers/volumes.js';

let root: { path: string; cleanup: () => void };
let counter = 0;
before(() => {
  root = makeTempDir();
});
after(() => root.cleanup());

async function readGenerated(spec: SeriesSpec) {
  const series = await writeSeries(join(root.path, `series-${++counter}`), spec);
  return { series, volume: await readDicomSeries(series.folder) };
}

describe('DICOM geometry (known answers from the generator parameters)', () => {
  it('standard axial CT is LPS in voxel axes: affine diag(-dx, -dy, dz) plus origin, as nibabel and dcm2niix give', async () => {
    const { volume } = await readGenerated({
      orientation: 'axial',
      pixelSpacing: [0.75, 0.5],
      sliceSpacing: 2.5,
      origin: [-120.5, -98.25, 40],
    });
    // Hand-derived: i along +x LPS (to the patient's left) = -x RAS with column spacing 0.5; j along
    // +y LPS (posterior) = -y RAS with row spacing 0.75; k along +z (superior) by 2.5 mm.
    const expected = [-0.5, 0, 0, 120.5, 0, -0.75, 0, 98.25, 0, 0, 2.5, 40, 0, 0, 0, 1];
    assert.ok(maxAbsDifference(volume.affine, expected) < 1e-9, `affine ${volume.affine.join(', ')}`);
    assert.equal(orientationOf(volume), 'LPS');
    assert.deepEqual(spacingOf(volume), [0.5, 0.75, 2.5]);
  });

  for (const orientation of ['axial', 'oblique', 'sagittal', 'coronal'] as const) {
    it(`${orientation}: RAS affine equals the one built from the parameters within 1e-6`, async () => {
      const { series, volume } = await readGenerated({
        orientation,
        pixelSpacing: [0.8, 0.6],
        sliceSpacing: 1.25,
        origin: [12.5, -40.75, 101.5],
      });
      assert.ok(
        maxAbsDifference(volume.affine, series.expectedAffine) < 1e-6,
        `got ${volume.affine.join(', ')}\nwant ${series.expectedAffine.join(', ')}`,
      );
      assert.deepEqual(volume.dims, series.dims);
      assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
    });
  }

  it('sagittal (row cosine 0,1,0; column cosine 0,0,-1) comes out PIR: i->P, j->I, k->R', async () => {
    const { volume } = await readGenerated({ orientation: 'sagittal' });
    // Row cosine (0,1,0) LPS = posterior, column cosine (0,0,-1) = inferior, normal row x col = (-1,0,0) = right.
    assert.equal(orientationOf(volume), 'PIR');
  });

  it('reversed instance order (InstanceNumber 1 at the top) gives the same volume: slices are sorted by position', async () => {
    const forward = await readGenerated({ orientation: 'oblique', seriesUid: '1.2.3.100' });
    const reversed = await readGenerated({
      orientation: 'oblique',
      reverseInstanceOrder: true,
      seriesUid: '1.2.3.101',
      seed: 99,
    });
    assert.ok(maxAbsDifference(reversed.volume.affine, forward.series.expectedAffine) < 1e-6);
    assert.equal(maxAbsDifference(reversed.volume.data, forward.volume.data), 0);
  });

  it('a normal pointing down (column cosine 0,-1,0) keeps k along the normal, origin at the lowest projection', async () => {
    const { series, volume } = await readGenerated({ orientation: [1, 0, 0, 0, -1, 0] });
    assert.ok(maxAbsDifference(volume.affine, series.expectedAffine) < 1e-6);
    assert.equal(orientationOf(volume), 'LAI');
  });

  it('a single slice takes its k spacing from SliceThickness along the normal', async () => {
    const { series, volume } = await readGenerated({ slices: 1, sliceSpacing: 3 });
    assert.deepEqual(volume.dims, [6, 5, 1]);
    assert.ok(maxAbsDifference(volume.affine, series.expectedAffine) < 1e-6);
  });

  it('enhanced multi-frame: frames written in reverse order are sorted by their per-frame positions', async () => {
    const { series, volume } = await readGenerated({ multiFrame: true, orientation: 'oblique', slices: 5 });
    assert.ok(maxAbsDifference(volume.affine, series.expectedAffine) < 1e-6);
    assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
  });
});

describe('a gantry-tilted CT series (15 degrees about x, 0.7 x 0.9 mm pixels, 3 mm table steps)', () => {
  const tilt = (15 * Math.PI) / 180;
  // the image plane tilts with the gantry; the table still moves along z
  const orientation = [1, 0, 0, 0, Math.cos(tilt), Math.sin(tilt)];
  const spec: SeriesSpec = {
    orientation,
    pixelSpacing: [0.9, 0.7],
    step: [0, 0, 3],
    slices: 7,
    origin: [-80.25, -60.5, 12],
  };

  it('reads the slices as acquired: a sheared affine, exact to 1e-6, and every voxel in place', async () => {
    const { series, volume } = await readGenerated(spec);
    // Hand-derived RAS columns: i = -x * 0.7; j = (0, -cos, sin) * 0.9; k = the table step (0, 0, 3).
    const [c, s] = [Math.cos(tilt), Math.sin(tilt)];
    // prettier-ignore
    const expected = [
      -0.7, 0, 0, 80.25,
      0, -0.9 * c, 0, 60.5,
      0, 0.9 * s, 3, 12,
      0, 0, 0, 1,
    ];
    assert.ok(maxAbsDifference(volume.affine, expected) < 1e-6, `affine ${volume.affine.join(', ')}`);
    assert.ok(maxAbsDifference(volume.affine, series.expectedAffine) < 1e-6);
    assert.deepEqual(volume.dims, series.dims);
    assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
  });

  it('tells the user the tilt, and measures voxels by |det|: 0.7 x 0.9 x 3 x cos 15 mm^3', async () => {
    const { volume } = await readGenerated(spec);
    assert.deepEqual(volume.meta.notes, [
      'gantry tilt 15.0 degrees: the networks see the scan straightened; masks are on the acquired (sheared) slices and the affine carries the shear',
    ]);
    const spacing = spacingOf(volume);
    [0.7, 0.9, 3].forEach((v, axis) => assert.ok(Math.abs(spacing[axis] - v) < 1e-9, `spacing ${spacing}`));
    assert.ok(Math.abs(voxelVolumeMl(volume) - (0.7 * 0.9 * 3 * Math.cos(tilt)) / 1000) < 1e-12);
    assert.equal(orientationOf(volume), 'LPS');
    assert.match(
      formatDescription(describeVolume(volume)),
      /^note {9}gantry tilt 15\.0 degrees: the networks see the scan straightened; masks are on/m,
    );
  });

  it('an upright series gets no tilt note', async () => {
    const { volume } = await readGenerated({ orientation: 'oblique' });
    assert.equal(volume.meta.notes, undefined);
  });
});

describe('stackGeometry checks', () => {
  const axial = [1, 0, 0, 0, 1, 0];
  const stack = (zs: number[], orientation = axial, shift: (k: number) => Vec3 = () => [0, 0, 0]): PlacedSlice[] =>
    zs.map((z, k) => ({
      position: [shift(k)[0], shift(k)[1], z + shift(k)[2]] as Vec3,
      orientation,
      name: `slice${k}.dcm`,
    }));

  const throwsCode = (slices: PlacedSlice[], code: string, pattern: RegExp) =>
    assert.throws(
      () => stackGeometry(slices, [1, 1], 1, '/data/series'),
      (error: unknown) =>
        error instanceof MedparseError &&
        error.code === code &&
        pattern.test(error.message) &&
        error.message.includes('/data/series'),
    );

  it('uses (P_last - P_first)/(n-1), not SliceThickness', () => {
    const geometry = stackGeometry(stack([0, 2.5, 5, 7.5]), [1, 1], 99, 'x');
    assert.equal(geometry.affine[10], 2.5);
    assert.equal(geometry.sliceSpacing, 2.5);
  });

  it('a missing slice is a clear INVALID_DIMENSIONS error naming the files around the gap', () => {
    throwsCode(stack([0, 2.5, 7.5, 10]), 'INVALID_DIMENSIONS', /slice1\.dcm and slice2\.dcm.*missing/);
  });

  it('uneven spacing is an error', () => {
    throwsCode(stack([0, 2, 5, 7]), 'INVALID_DIMENSIONS', /not evenly spaced/);
  });

  it('duplicate positions mean several volumes', () => {
    throwsCode(stack([0, 0, 2.5, 2.5]), 'MULTIPLE_VOLUMES', /2 distinct slice positions/);
  });

  it('a uniform sideways drift (gantry tilt) is kept as a sheared k column, its angle recorded', () => {
    const geometry = stackGeometry(
      stack([0, 2.5, 5, 7.5], axial, (k) => [0, k * 0.5, 0]),
      [1, 1],
      1,
      'x',
    );
    // k steps (0, 0.5, 2.5) LPS = (0, -0.5, 2.5) RAS; the planes stay 2.5 mm apart along the normal
    assert.ok(maxAbsDifference([geometry.affine[2], geometry.affine[6], geometry.affine[10]], [0, -0.5, 2.5]) < 1e-12);
    assert.equal(geometry.sliceSpacing, 2.5);
    assert.ok(Math.abs(geometry.tiltDegrees - (Math.atan2(0.5, 2.5) * 180) / Math.PI) < 1e-9);
  });

  it('a straight stack has no tilt, and drift within rounding of the positions counts as none', () => {
    assert.equal(stackGeometry(stack([0, 2.5, 5]), [1, 1], 1, 'x').tiltDegrees, 0);
    const rounded = stack([0, 2.5, 5], axial, (k) => [0, k === 2 ? 0.0005 : 0, 0]);
    assert.equal(stackGeometry(rounded, [1, 1], 1, 'x').tiltDegrees, 0);
  });

  it('a sideways drift that is not linear is refused, naming the slice off the line', () => {
    throwsCode(
      stack([0, 2.5, 5, 7.5, 10], axial, (k) => [0, 0.3 * k * k, 0]),
      'INVALID_DIMENSIONS',
      /do not lie on one straight line: slice2\.dcm is 1\.2000 mm sideways.*drifts non-linearly/,
    );
  });

  it('a single slice off the line of an otherwise tilted stack is refused', () => {
    throwsCode(
      stack([0, 2.5, 5, 7.5, 10], axial, (k) => [0, 0.5 * k + (k === 3 ? 0.2 : 0), 0]),
      'INVALID_DIMENSIONS',
      /slice3\.dcm is 0\.2000 mm sideways/,
    );
  });

  it('a stack more than 45 degrees off its normal is refused as implausible for a tilt', () => {
    throwsCode(
      stack([0, 2.5, 5], axial, (k) => [0, k * 3, 0]),
      'UNSUPPORTED_FORMAT',
      /50\.2 degrees off the image normal, more than the 45 degrees a gantry tilt can be/,
    );
  });

  it('mixed orientations are refused', () => {
    const slices = stack([0, 2.5, 5]);
    slices[1] = { ...slices[1], orientation: [0, 1, 0, 0, 0, -1] };
    throwsCode(slices, 'INVALID_DIMENSIONS', /mixes image orientations.*slice1\.dcm/);
  });
});
