import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MedparseError } from '../../src/core/errors.js';
import { loadModelPackage } from '../../src/runtime/model-package.js';
import { editModelManifest, writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';

/** A test model whose first concept has the given CT calibration entry. */
function withCalibration(dir: string, calibration: Record<string, unknown>): void {
  writeTestModel(dir);
  editModelManifest(dir, (manifest) => (manifest.networks[0].concepts[0].calibration = { CT: calibration }), {
    unchecked: true,
  });
}

describe('model package calibration entries', () => {
  it('reads the volume range and the island flags', () =>
    withTempDir(async (dir) => {
      withCalibration(dir, { min_volume_ml: 1, max_volume_ml: 500, single_component: true, drop_minor_islands: true });
      const calibration = loadModelPackage(dir).networks[0].concepts[0].calibration.CT;
      assert.deepEqual(
        [
          calibration?.minVolumeMl,
          calibration?.maxVolumeMl,
          calibration?.singleComponent,
          calibration?.dropMinorIslands,
        ],
        [1, 500, true, true],
      );
    }));

  it('names the field when a value has the wrong type', () =>
    withTempDir(async (dir) => {
      for (const [entry, field] of [
        [{ single_component: 'yes' }, /calibration\.CT\.single_component must be boolean/],
        [{ drop_minor_islands: 1 }, /calibration\.CT\.drop_minor_islands must be boolean/],
        [{ max_volume_ml: 'big' }, /calibration\.CT\.max_volume_ml must be number/],
      ] as const) {
        withCalibration(dir, entry);
        assert.throws(
          () => loadModelPackage(dir),
          (error: unknown) => error instanceof MedparseError && field.test(error.message),
        );
      }
    }));
});

describe('model package connected groups', () => {
  const withGroups = (dir: string, groups: unknown) => {
    writeTestModel(dir);
    editModelManifest(dir, (manifest) => (manifest.networks[0].connected_groups = groups as string[][]), {
      unchecked: true,
    });
  };

  it('reads them, and none when the field is missing', () =>
    withTempDir(async (dir) => {
      withGroups(dir, [['kidney', 'vertebral_column']]);
      const [bands, bright] = loadModelPackage(dir).networks;
      assert.deepEqual(bands.connectedGroups, [['kidney', 'vertebral_column']]);
      assert.deepEqual(bright.connectedGroups, []);
    }));

  it("names the group that lists another network's concept or a single one", () =>
    withTempDir(async (dir) => {
      for (const [groups, problem] of [
        [[['kidney', 'hippocampus']], /connected_groups\[0\] names hippocampus, not concepts of this network/],
        [[['kidney']], /connected_groups\[0\] must NOT have fewer than 2 items/],
        ['kidney', /connected_groups must be array/],
      ] as const) {
        withGroups(dir, groups);
        assert.throws(
          () => loadModelPackage(dir),
          (error: unknown) => error instanceof MedparseError && problem.test(error.message),
        );
      }
    }));
});

describe('model package anchors', () => {
  it('reads them, none when the field is missing, and refuses one that is not a concept of the network', () =>
    withTempDir(async (dir) => {
      writeTestModel(dir);
      editModelManifest(dir, (manifest) => (manifest.networks[0].anchors = ['vertebral_column']));
      const [bands, bright] = loadModelPackage(dir).networks;
      assert.deepEqual(bands.anchors, ['vertebral_column']);
      assert.deepEqual(bright.anchors, []);
      editModelManifest(dir, (manifest) => (manifest.networks[0].anchors = ['hippocampus']), { unchecked: true });
      assert.throws(
        () => loadModelPackage(dir),
        (error: unknown) =>
          error instanceof MedparseError &&
          /anchors names hippocampus, not concepts of this network/.test(error.message),
      );
    }));
});
