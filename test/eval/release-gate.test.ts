import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTrainingScanReason, releaseGate, trainingScanGate } from '../../src/eval/release-gate.js';

describe('release gate', () => {
  it('withholds a concept below the floor with its measurement, answers one at or above it, skips unmeasured', () => {
    const verdicts = releaseGate(
      [
        {
          networkId: 'brain-mr',
          conceptId: 'thalamus_left',
          dice: [0.1, 0.2],
          datasets: ['freesurfer', 'synth'],
          scopes: ['whole', 'whole'],
        },
        {
          networkId: 'brain-mr',
          conceptId: 'hippocampus',
          dice: [0.9, 0.5],
          datasets: ['msd', 'msd'],
          scopes: ['crop', 'crop'],
        },
        { networkId: 'body-ct', conceptId: 'spleen', dice: [], datasets: [], scopes: [] },
      ],
      0.5,
      '9.9.9',
      { freesurfer: 'FreeSurfer T1' },
    );
    assert.deepEqual(
      verdicts.map((v) => [v.conceptId, v.withheld]),
      [
        [
          'thalamus_left',
          'held-out Dice 0.15 on 2 scans (FreeSurfer T1: 1 at 0.10; synth: 1 at 0.20), below the 0.50 that model 9.9.9 must reach to answer it',
        ],
        ['hippocampus', undefined],
      ],
    );
    assert.equal(verdicts[1].meanDice, 0.7);
  });

  it('never prints a Dice under the floor as the floor itself (0.499 is not "0.50, below the 0.50")', () => {
    const [verdict] = releaseGate(
      [
        {
          networkId: 'body-ct',
          conceptId: 'gallbladder',
          dice: [0.498, 0.5],
          datasets: ['btcv', 'btcv'],
          scopes: ['whole', 'whole'],
        },
      ],
      0.5,
      '9.9.9',
    );
    assert.equal(
      verdict.withheld,
      'held-out Dice 0.499 on 2 scans (btcv: 2 at 0.499), below the 0.50 that model 9.9.9 must reach to answer it',
    );
  });

  it("pools one network's rows of a concept, and keeps networks apart", () => {
    const verdicts = releaseGate(
      [
        { networkId: 'body-ct', conceptId: 'brainstem', dice: [0.6], datasets: ['openkbp'], scopes: ['whole'] },
        { networkId: 'body-ct', conceptId: 'brainstem', dice: [0.3], datasets: ['ddm'], scopes: ['whole'] },
        { networkId: 'brain-mr', conceptId: 'brainstem', dice: [0], datasets: ['freesurfer'], scopes: ['whole'] },
      ],
      0.5,
      '1.0.0',
    );
    assert.deepEqual(
      verdicts.map((v) => [v.networkId, v.conceptId, Number(v.meanDice?.toFixed(3)), v.withheld !== undefined]),
      [
        ['body-ct', 'brainstem', 0.45, true],
        ['brain-mr', 'brainstem', 0, true],
      ],
    );
    assert.match(
      verdicts[0].withheld ?? '',
      /^held-out Dice 0\.45 on 2 scans \(openkbp: 1 at 0\.60; ddm: 1 at 0\.30\)/,
    );
  });

  it('judges crops and whole scans apart: withheld on the kind where it fails, answered on the other', () => {
    const [hippocampus, tumour] = releaseGate(
      [
        {
          networkId: 'brain-mr',
          conceptId: 'hippocampus',
          dice: [0.9, 0.9, 0.9],
          datasets: ['msd', 'msd', 'msd'],
          scopes: ['crop', 'crop', 'crop'],
        },
        { networkId: 'brain-mr', conceptId: 'hippocampus', dice: [0], datasets: ['freesurfer'], scopes: ['whole'] },
        {
          networkId: 'brain-mr',
          conceptId: 'brain_tumor',
          dice: [0.1, 0.2],
          datasets: ['brats', 'crops'],
          scopes: ['whole', 'crop'],
        },
      ],
      0.5,
      '1.0.0',
      { freesurfer: 'FreeSurfer T1' },
    );
    assert.equal(hippocampus.withheld, undefined, 'the pooled 0.675 no longer hides the failure on whole scans');
    assert.deepEqual(hippocampus.withheldOn, {
      crop: null,
      whole:
        'on whole scans (100 mm or more across): held-out Dice 0.00 on 1 scan (FreeSurfer T1: 1 at 0.00), ' +
        'below the 0.50 that model 1.0.0 must reach to answer it',
    });
    assert.match(tumour.withheld ?? '', /^held-out Dice 0\.15 on 2 scans/, 'failing on both kinds: withheld outright');
    assert.deepEqual(tumour.withheldOn, { crop: null, whole: null });
  });

  it("carries a whole's failure on one kind of scan to its parts not measured there", () => {
    const parts: Record<string, string[]> = {
      hippocampus: ['hippocampus_anterior', 'hippocampus_posterior', 'hippocampus_left'],
      thalamus: ['thalamus_left'],
    };
    const verdicts = releaseGate(
      [
        {
          networkId: 'brain-mr',
          conceptId: 'hippocampus',
          dice: [0.9, 0],
          datasets: ['msd', 'fs'],
          scopes: ['crop', 'whole'],
        },
        { networkId: 'brain-mr', conceptId: 'hippocampus_anterior', dice: [0.88], datasets: ['msd'], scopes: ['crop'] },
        { networkId: 'brain-mr', conceptId: 'hippocampus_left', dice: [0.7], datasets: ['fs'], scopes: ['whole'] },
        // a whole that passes on whole scans clears what its parts inherited there
        { networkId: 'brain-mr', conceptId: 'thalamus', dice: [0.8], datasets: ['fs'], scopes: ['whole'] },
      ],
      0.5,
      '1.0.0',
      {},
      (networkId, conceptId) => (networkId === 'brain-mr' ? (parts[conceptId] ?? []) : []),
    );
    const byId = Object.fromEntries(verdicts.map((v) => [v.conceptId, v]));
    const inherited =
      'on whole scans (100 mm or more across): not measured there, and its whole (hippocampus) is withheld there ' +
      '(held-out Dice 0.00 on 1 scan (fs: 1 at 0.00), below the 0.50 that model 1.0.0 must reach to answer it)';
    assert.deepEqual(byId.hippocampus_anterior.withheldOn, { crop: null, whole: inherited }, 'measured on crops only');
    assert.equal(byId.hippocampus_anterior.meanDice, 0.88);
    assert.deepEqual(byId.hippocampus_posterior, {
      networkId: 'brain-mr',
      conceptId: 'hippocampus_posterior',
      meanDice: undefined,
      withheld: undefined,
      withheldOn: { crop: null, whole: inherited },
    });
    assert.deepEqual(
      byId.hippocampus_left.withheldOn,
      { whole: null, crop: null },
      'its own whole-scan measurement rules; on crops its whole passes',
    );
    assert.deepEqual(byId.thalamus_left.withheldOn, { whole: null });
  });
});

describe('training-scan gate (concepts with no held-out scan)', () => {
  const onTrainingCt = (conceptId: string, dice: number) => ({
    networkId: 'body-ct',
    conceptId,
    dice: [dice],
    datasets: ['totalseg_ct'],
    scopes: ['whole' as const],
  });

  it('withholds a concept that fails even on a scan it trained on; a pass may lift only its own mark', () => {
    const verdicts = trainingScanGate(
      [onTrainingCt('spleen', 0.47), onTrainingCt('liver', 0.92), onTrainingCt('pancreas', 0)],
      new Set(),
      0.5,
      '9.9.9',
      { totalseg_ct: 'TotalSegmentator abdominal CT' },
    );
    assert.deepEqual(
      verdicts.map((v) => [v.conceptId, v.withheld]),
      [
        [
          'spleen',
          'Dice 0.47 on the 1 scan it was trained on (TotalSegmentator abdominal CT: 1 at 0.47) and no held-out scan to show better; below the 0.50 that model 9.9.9 must reach to answer it',
        ],
        ['liver', undefined],
        [
          'pancreas',
          'Dice 0.00 on the 1 scan it was trained on (TotalSegmentator abdominal CT: 1 at 0.00) and no held-out scan to show better; below the 0.50 that model 9.9.9 must reach to answer it',
        ],
      ],
    );
    assert.equal(isTrainingScanReason(verdicts[0].withheld), true);
    const heldOut = releaseGate([{ ...onTrainingCt('larynx', 0.1), datasets: ['openkbp'] }], 0.5, '9.9.9');
    assert.equal(isTrainingScanReason(heldOut[0].withheld), false, 'a held-out mark is never lifted by it');
    assert.equal(isTrainingScanReason(undefined), false);
  });

  it('leaves concepts measured on held-out scans to the held-out gate', () => {
    const verdicts = trainingScanGate([onTrainingCt('aorta', 0.1)], new Set(['body-ct|aorta']), 0.5, '9.9.9');
    assert.deepEqual(verdicts, []);
  });
});
