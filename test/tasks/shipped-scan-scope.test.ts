import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readVolume } from '../../src/io/read.js';
import { scanScope } from '../../src/runtime/scan-scope.js';
import { DEFAULT_MODEL_DIR } from '../../src/core/paths.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { sharedDir, SHARED_MISSING } from '../helpers/shared.js';

const shared = sharedDir();

/**
 * The shipped package's hippocampus: measured 0.89 on MSD crops and 0 on a whole-brain T1, so it is
 * answered on a crop and withheld, with that measurement, on a whole brain (not a confident "absent").
 */
describe('the shipped model judges crops and whole scans apart', { skip: shared ? false : SHARED_MISSING }, () => {
  let engine: ParseEngine;
  before(() => {
    engine = ParseEngine.load(DEFAULT_MODEL_DIR, { threads: 1 });
  });
  after(() => engine.dispose());

  it('answers "hippocampus" on a held-out MSD crop', async () => {
    const crop = await readVolume(join(shared ?? '', 'data', 'hippocampus/images/hippocampus_015.nii.gz'));
    assert.equal(scanScope(crop), 'crop');
    const answer = (await engine.segment(crop, 'hippocampus', { modality: 'MR' })).prompts[0];
    assert.equal(answer.status, 'present', answer.notes.join(' | '));
  });

  it('withholds "hippocampus" and "left hippocampus" on the whole-brain FreeSurfer T1, saying why', async () => {
    const brain = await readVolume(join(shared ?? '', 'data', 'freesurfer/norm.mgz'));
    assert.equal(scanScope(brain), 'whole');
    const answers = (await engine.segment(brain, 'hippocampus, left hippocampus', { modality: 'MR' })).prompts;
    for (const answer of answers) {
      assert.equal(answer.status, 'unsupported', answer.text);
      assert.equal(answer.probability, undefined);
    }
    assert.match(answers[0].notes.join(' | '), /withholds hippocampus: on whole scans \(100 mm or more across\)/);
  });
});
