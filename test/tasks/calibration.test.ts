import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canCalibrate,
  candidateGroups,
  chooseAnchors,
  connectedGroupHelps,
  fitCalibration,
  MIN_POSITIVES_FOR_BETA,
  type CalibrationSample,
} from '../../src/tasks/calibration.js';
import { loadVocabulary } from '../../src/vocab/index.js';

const sample = (positive: boolean, logit: number, volumeMl = 10, dice?: CalibrationSample['dice']) => ({
  positive,
  logit,
  s1: 0.9,
  s2: 0.5,
  volumeMl,
  voxels: 100,
  dice,
});
const positives = (logits: number[]) => logits.map((l, n) => sample(true, l, 10 + n));

describe('fitCalibration', () => {
  const negatives = [0.5, 1, 1.6].map((l) => sample(false, l));

  it('with enough positives: just above the negatives, lowered to the weakest positive', () => {
    const many = positives([9, 10, 11, 12, 13, 14, 15, 16]);
    assert.equal(many.length, MIN_POSITIVES_FOR_BETA);
    const fit = fitCalibration(many, negatives, 'single');
    assert.ok(Math.abs(fit.presence_threshold - 1.601) < 1e-9);
    assert.ok(fit.probability_beta && fit.intensity_beta);
    const overlapping = fitCalibration(positives([1.2, 10, 11, 12, 13, 14, 15, 16]), negatives, 'single');
    assert.equal(overlapping.presence_threshold, 1.2);
  });

  it('with too few positives and separate classes: halfway between them, and no Beta test', () => {
    const fit = fitCalibration(positives([9, 10, 11, 12]), negatives, 'single');
    assert.ok(Math.abs(fit.presence_threshold - (1.601 + 9) / 2) < 1e-9);
    assert.equal(fit.probability_beta, undefined);
    // classes that overlap keep the weakest positive
    assert.equal(fitCalibration(positives([1.2, 10, 11, 12]), negatives, 'single').presence_threshold, 1.2);
  });

  it('is fitted from one real positive when there are negatives, from two without', () => {
    const one = positives([12]);
    assert.equal(canCalibrate(one, negatives), true);
    assert.equal(canCalibrate(one, []), false);
    assert.equal(canCalibrate(positives([9, 10]), []), true);
    assert.equal(canCalibrate([], negatives), false);
    // one positive, above every negative: the threshold sits halfway up to it
    assert.ok(Math.abs(fitCalibration(one, negatives, 'single').presence_threshold - (1.601 + 12) / 2) < 1e-9);
  });

  it('gives the plausible volume range from the positive masks', () => {
    const fit = fitCalibration(positives([9, 10, 11]), negatives, 'single');
    assert.equal(fit.min_volume_ml, 10 / 5);
    assert.equal(fit.max_volume_ml, 12 * 5);
  });

  it('keeps only the largest island where that helped every case enough, never for many-island concepts', () => {
    const helped = [0.8, 0.7, 0.9].map((all, n) => sample(true, 10, 10, { all, largest: all + 0.05 * n }));
    assert.equal(fitCalibration(helped, negatives, 'single').single_component, true);
    assert.equal(fitCalibration(helped, negatives, 'paired').single_component, false);
    assert.equal(fitCalibration(helped, negatives, 'lesion').single_component, false);
    const hurtOne = [...helped, sample(true, 10, 10, { all: 0.8, largest: 0.7 })];
    assert.equal(fitCalibration(hurtOne, negatives, 'single').single_component, false);
    assert.equal(fitCalibration(helped.slice(0, 2), negatives, 'single').single_component, false, 'too few cases');
  });

  it("drops a lesion's small islands only where that helped every case enough; anatomy is not asked", () => {
    const lesion = (all: number, minor: number) => sample(true, 10, 10, { all, largest: 0, minor });
    // BraTS training scans: whole tumour 0.675 -> 0.689, 0.454 -> 0.470, 0.932 -> 0.937, 0.864 -> 0.878
    const helped = [lesion(0.675, 0.689), lesion(0.454, 0.47), lesion(0.932, 0.937), lesion(0.864, 0.878)];
    assert.equal(fitCalibration(helped, negatives, 'lesion').drop_minor_islands, true);
    assert.equal(fitCalibration(helped, negatives, 'lesion').single_component, false, 'a lesion may be many');
    const realSmallOnes = [...helped, lesion(0.8, 0.6)]; // a case whose small islands were true lesions
    assert.equal(fitCalibration(realSmallOnes, negatives, 'lesion').drop_minor_islands, false);
    const noGain = helped.map((s) => lesion(s.dice?.all ?? 0, (s.dice?.all ?? 0) + 0.001));
    assert.equal(fitCalibration(noGain, negatives, 'lesion').drop_minor_islands, false);
    assert.equal(fitCalibration(helped.slice(0, 2), negatives, 'lesion').drop_minor_islands, false, 'too few');
    assert.equal('drop_minor_islands' in fitCalibration(helped, negatives, 'single'), false);
  });
});

describe('connected groups', () => {
  const part = (all: number, group: number) => sample(true, 10, 10, { all, largest: all, group });

  it('are proposed for the parts of one unpaired organ only', () => {
    const vocabulary = loadVocabulary();
    const heart = ['heart_ventricle_left', 'heart_ventricle_right', 'left_ventricle_myocardium'];
    assert.deepEqual(candidateGroups([...heart, 'spinal_cord'], vocabulary), [heart]);
    assert.deepEqual(candidateGroups(['heart_ventricle_left'], vocabulary), [], 'one part is no group');
    assert.deepEqual(candidateGroups(['kidney_left', 'kidney_right'], vocabulary), [], 'paired organs lie apart');
    assert.deepEqual(candidateGroups(['brain_tumor_edema', 'brain_tumor_enhancing'], vocabulary), [], 'lesions');
  });

  it('are kept when the pooled Dice of the parts rises and no case loses more than 0.05', () => {
    const helped = [
      [part(0.9, 0.9), part(0.5, 0.8)],
      [part(0.8, 0.8), part(0.85, 0.85)],
    ];
    assert.equal(connectedGroupHelps(helped), true);
    assert.equal(connectedGroupHelps([...helped, [part(0.8, 0.7)]]), false);
    assert.equal(connectedGroupHelps([[part(0.5, 0.8), part(0.5, 0.8)]]), false, 'too few cases');
    assert.equal(connectedGroupHelps([[sample(true, 10, 10, { all: 0.5, largest: 0.5 })]]), false, 'not judged');
  });
});

describe('chooseAnchors', () => {
  // logits as brain-structures-mr gave them: the white matter overlaps its negatives, the ventricle does not
  const negatives = (logits: number[]) => logits.map((l) => sample(false, l));
  const samples = new Map<string, CalibrationSample[]>([
    ['cerebral_white_matter', [...positives([8.7, 9.5]), ...negatives([7.2, 9.0])]],
    ['third_ventricle', [...positives([9.0, 9.8]), ...negatives([1.3, 5.4])]],
    ['fourth_ventricle', [...positives([6.9, 8.0]), ...negatives([2.6, 4.6])]],
    ['lateral_ventricle', [...positives([5.4, 7.0]), ...negatives([4.6, 1.1])]],
  ]);

  it('takes the rows that separate positives from negatives by the widest margin, widest first', () => {
    assert.deepEqual(chooseAnchors(samples, 2), ['third_ventricle', 'fourth_ventricle']);
    assert.deepEqual(chooseAnchors(samples, 9), ['third_ventricle', 'fourth_ventricle', 'lateral_ventricle']);
    assert.deepEqual(chooseAnchors(samples, 0), []);
  });

  it('never takes a row missed on a positive case, or one without negatives to separate from', () => {
    const missed = { ...sample(true, 12), voxels: 0 };
    const tricky = new Map<string, CalibrationSample[]>([
      ['third_ventricle', [...positives([9.0]), missed, ...negatives([1.3])]],
      ['thalamus', positives([9.0, 9.5])],
      ['putamen', [...positives([6.0]), ...negatives([2.0])]],
    ]);
    assert.deepEqual(chooseAnchors(tricky, 2), ['putamen']);
  });
});
