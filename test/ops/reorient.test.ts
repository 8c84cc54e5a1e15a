import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orientationCode } from '../../src/core/orientation.js';
import type { Dims3, Volume } from '../../src/core/volume.js';
import { planReorientation, reorient, undoReorient } from '../../src/ops/reorient.js';
import { assertClose, diagonalAffine, filled, obliqueAffine, worldOf } from './fixtures.js';

const dims: Dims3 = [5, 4, 3];

/** Every voxel holds its own index, so a value identifies the original voxel. */
function indexed(affine: number[]): Volume {
  return filled(dims, affine, new Int32Array(60), (i, j, k) => i + 5 * (j + 4 * k));
}

const inputs: Record<string, Volume> = {
  LPS: indexed(diagonalAffine([-0.8, -0.9, 2.5], [100, 120, -40])),
  LIA: indexed(obliqueAffine([0.7, 1.1, 3], [0, 0, 0], [12, -7, 33], [0, 2, 1], [-1, -1, 1])),
  oblique: indexed(obliqueAffine([1.2, 0.9, 2], [0.3, -0.2, 0.25], [-5, 8, 13], [1, 2, 0], [1, -1, 1])),
};

/** The world position of each value in `result` is the one it had in `original`. */
function assertWorldKept(original: Volume, result: Volume): void {
  const [nx, ny, nz] = result.dims;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const value = result.data[i + nx * (j + ny * k)];
        const oi = value % 5;
        const oj = Math.floor(value / 5) % 4;
        const ok = Math.floor(value / 20);
        assertClose(worldOf(result, i, j, k), worldOf(original, oi, oj, ok), 1e-9, `world of value ${value}`);
      }
    }
  }
}

describe('reorient', () => {
  it('gives the requested code and keeps every voxel world position', () => {
    assert.equal(orientationCode(inputs.LPS.affine), 'LPS');
    assert.equal(orientationCode(inputs.LIA.affine), 'LIA');
    for (const [name, volume] of Object.entries(inputs)) {
      for (const code of ['RAS', 'LPS', 'LIA', 'SAR', 'ipl']) {
        const { volume: result, inverse } = reorient(volume, code);
        assert.equal(orientationCode(result.affine), code.toUpperCase(), `${name} -> ${code}`);
        assert.equal(inverse.toCode, code.toUpperCase());
        assert.equal(inverse.fromCode, orientationCode(volume.affine));
        assertWorldKept(volume, result);
      }
    }
  });

  it('permutes the dims and keeps the data type', () => {
    const { volume } = reorient(inputs.LIA, 'RAS');
    // LIA: i runs along x, j along z, k along y; RAS wants x, y, z.
    assert.deepEqual(volume.dims, [5, 3, 4]);
    assert.ok(volume.data instanceof Int32Array);
  });

  it('round-trips exactly, data and affine', () => {
    for (const volume of Object.values(inputs)) {
      for (const code of ['RAS', 'LPS', 'PIR', 'ASL']) {
        const { volume: result, inverse } = reorient(volume, code);
        const back = undoReorient(result, inverse);
        assert.deepEqual(back.dims, volume.dims);
        assert.deepEqual(back.affine, volume.affine);
        assert.deepEqual(back.data, volume.data);
      }
    }
  });

  it('maps a mask computed on the reoriented grid back onto the original grid', () => {
    const { volume: ras, inverse } = reorient(inputs.oblique, 'RAS');
    const mask = new Uint8Array(ras.data.length);
    for (let i = 0; i < mask.length; i++) mask[i] = ras.data[i] % 7 === 0 ? 1 : 0;
    const back = undoReorient({ ...ras, data: mask }, inverse);
    assert.ok(back.data instanceof Uint8Array);
    for (let i = 0; i < back.data.length; i++) assert.equal(back.data[i], inputs.oblique.data[i] % 7 === 0 ? 1 : 0);
  });

  it('is an identity copy when the volume already has the code', () => {
    const plan = planReorientation(inputs.LPS, 'LPS');
    assert.deepEqual(plan.permutation, [0, 1, 2]);
    assert.deepEqual(plan.flips, [false, false, false]);
    const { volume } = reorient(inputs.LPS, 'LPS');
    assert.deepEqual(volume.affine, inputs.LPS.affine);
    assert.deepEqual(volume.data, inputs.LPS.data);
    assert.notEqual(volume.data, inputs.LPS.data);
  });

  it('drops NIfTI geometry on the new grid and restores it on undo', () => {
    const nifti = {
      qformCode: 1,
      sformCode: 1,
      quatern: [0, 0, 1] as [number, number, number],
      qoffset: [1, 2, 3] as [number, number, number],
      qfac: 1,
      pixdim: [1, 1, 1] as [number, number, number],
      srow: [[1], [2], [3]] as [number[], number[], number[]],
      xyztUnits: 2,
    };
    const volume = { ...inputs.LPS, meta: { ...inputs.LPS.meta, nifti } };
    const { volume: ras, inverse } = reorient(volume, 'RAS');
    assert.equal(ras.meta.nifti, undefined);
    assert.deepEqual(undoReorient(ras, inverse).meta.nifti, nifti);
  });

  it('rejects invalid codes and mismatched volumes', () => {
    assert.throws(() => reorient(inputs.LPS, 'RAR'));
    assert.throws(() => reorient(inputs.LPS, 'XYZ'));
    const { inverse } = reorient(inputs.LIA, 'RAS');
    assert.throws(() => undoReorient(inputs.LIA, inverse), /reoriented grid/);
  });
});
