import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Volume } from '../../src/core/volume.js';
import { dice } from '../../src/eval/metrics.js';
import { readVolume } from '../../src/io/read.js';
import { permuteAxes } from '../../src/ops/reorient.js';
import { DEFAULT_MODEL_DIR } from '../../src/core/paths.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { sharedDir, SHARED_MISSING } from '../helpers/shared.js';

const shared = sharedDir();
const CASE = 'acdc/patient005/patient005_frame01'; // held out (training/splits.json)
const RV = 1; // ACDC label of the right ventricle cavity

/**
 * The same stack as a scanner might store it: slices in the other order, and an affine that lays the
 * slices nearest world x (a short-axis stack is oblique; ACDC's own affine says nothing true).
 */
function restacked(volume: Volume): Volume {
  const data = new (volume.data.constructor as new (n: number) => typeof volume.data)(volume.data.length);
  permuteAxes(volume.data, volume.dims, data, [0, 1, 2], [false, false, true]);
  const [sx, sy, sz] = volume.spacing ?? [1, 1, 1];
  // columns: (0.6, 0, 0.8) sx, (0, -1, 0) sy, (0.8, 0, -0.6) sz: the slices lie nearest world x (R-L)
  const affine = [0.6 * sx, 0, 0.8 * sz, 0, 0, -sy, 0, 0, 0.8 * sx, 0, -0.6 * sz, 0, 0, 0, 0, 1];
  return { ...volume, data, affine };
}

function unstacked(mask: Uint8Array, volume: Volume): Uint8Array {
  const out = new Uint8Array(mask.length);
  permuteAxes(mask, volume.dims, out, [0, 1, 2], [false, false, true]);
  return out;
}

/**
 * The shipped heart network learnt ACDC's slice order; reversed, it found almost no right ventricle
 * (held-out Dice 0.76 -> 0.11). The package's slice-stack rule and orientation search give the same
 * answer whichever way the stack is stored.
 */
describe(
  'the shipped heart network answers a stack however it is stored',
  { skip: shared ? false : SHARED_MISSING },
  () => {
    let engine: ParseEngine;
    before(() => {
      engine = ParseEngine.load(DEFAULT_MODEL_DIR, { threads: 2 });
    });
    after(() => engine.dispose());

    it('finds the same right ventricle in the stored stack and in the restacked one', async () => {
      const image = await readVolume(join(shared ?? '', 'data', `${CASE}.nii.gz`));
      const labels = await readVolume(join(shared ?? '', 'data', `${CASE}_gt.nii.gz`));
      const truth = Uint8Array.from(labels.data, (v) => (v === RV ? 1 : 0));
      const ask = async (volume: Volume) =>
        (await engine.segment(volume, 'right ventricle', { modality: 'MR' })).prompts[0].probability ??
        new Uint8Array(truth.length);
      const stored = await ask(image);
      const restackedAnswer = unstacked(await ask(restacked(image)), image);
      const binary = (m: Uint8Array) => Uint8Array.from(m, (p) => (p ? 1 : 0));
      assert.ok(dice(stored, truth) > 0.75, `stored order: Dice ${dice(stored, truth)}`);
      assert.ok(dice(restackedAnswer, truth) > 0.75, `restacked: Dice ${dice(restackedAnswer, truth)}`);
      const agreement = dice(binary(stored), binary(restackedAnswer));
      // the restacked working image is the stored one mirrored, so the search tries the same four images; with
      // heart-mr's margin each keeps its own acquired orientation among near-ties, so the two answers are
      // two orientations' masks (0.94 agreement in 0.5.6), both on the right ventricle
      assert.ok(agreement > 0.9, `the two answers agree: Dice ${agreement}`);
    });
  },
);
