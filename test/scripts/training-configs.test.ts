import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Volume } from '../../src/core/volume.js';
import { asHounsfield, loadTrainingConfigs, regionsTouch } from '../../scripts/training-configs.js';

function byteVolume(values: number[]): Volume {
  return {
    dims: [values.length, 1, 1],
    affine: [2, 0, 0, -10, 0, 2, 0, 5, 0, 0, 3, 7, 0, 0, 0, 1],
    data: Uint8Array.from(values),
    meta: { sourceFormat: 'nifti1', modality: 'CT', storedType: 'uint8' },
  };
}

describe('asHounsfield (images stored as a window of HU)', () => {
  it("maps BTCV's 8-bit values to the HU window they were cut from", () => {
    const read = byteVolume([0, 80, 255]);
    const hu = asHounsfield(read, [400 / 255, -125]);
    assert.ok(hu.data instanceof Float32Array);
    assert.deepEqual(
      [...hu.data].map((v) => Math.round(v * 100) / 100),
      [-125, 0.49, 275],
    );
    assert.deepEqual([...read.data], [0, 80, 255], 'the volume read is left as it was');
    assert.deepEqual(hu.dims, read.dims);
    assert.deepEqual(hu.affine, read.affine, 'the grid is untouched');
  });

  it('returns a volume of a data set without the map unchanged', () => {
    const read = byteVolume([1, 2]);
    assert.equal(asHounsfield(read, undefined), read);
  });

  it('refuses a map that is not [scale > 0, offset]', () => {
    assert.throws(() => asHounsfield(byteVolume([1]), [0, -125]), /image_to_hu is \[0,-125\]/);
    assert.throws(() => asHounsfield(byteVolume([1]), [1]), /expected \[scale > 0, offset\]/);
  });
});

describe("regionsTouch (networks whose scans may hold each other's organs)", () => {
  const configs = loadTrainingConfigs();
  const byId = (id: string) => {
    const config = configs.find((c) => c.network_id === id);
    assert.ok(config, `training/configs has ${id}`);
    return config;
  };

  it('holds both ways when one config names the other (a cardiac stack may show the liver)', () => {
    assert.equal(regionsTouch(byId('abdomen-mr'), byId('heart-mr')), true);
    assert.equal(regionsTouch(byId('heart-mr'), byId('abdomen-mr')), true);
  });

  it('does not hold for regions apart (no liver in a head)', () => {
    assert.equal(regionsTouch(byId('abdomen-mr'), byId('brain-mr')), false);
    assert.equal(regionsTouch(byId('heart-mr'), byId('brain-mr')), false);
  });
});
