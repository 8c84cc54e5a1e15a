import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { releaseGate } from '../../src/eval/release-gate.js';

describe('release gate', () => {
  it('withholds a concept below the floor with its measurement, answers one at or above it, skips unmeasured', () => {
    const verdicts = releaseGate(
      [
        { networkId: 'brain-mr', conceptId: 'thalamus_left', dice: [0.1, 0.2], datasets: ['freesurfer', 'synth'] },
        { networkId: 'brain-mr', conceptId: 'hippocampus', dice: [0.9, 0.5], datasets: ['msd', 'msd'] },
        { networkId: 'body-ct', conceptId: 'spleen', dice: [], datasets: [] },
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

  it("pools one network's rows of a concept (crops and a whole scan), and keeps networks apart", () => {
    const verdicts = releaseGate(
      [
        { networkId: 'brain-mr', conceptId: 'hippocampus', dice: [0.9, 0.9, 0.9], datasets: ['msd', 'msd', 'msd'] },
        { networkId: 'brain-mr', conceptId: 'hippocampus', dice: [0], datasets: ['freesurfer'] },
        { networkId: 'body-ct', conceptId: 'brainstem', dice: [0.6], datasets: ['openkbp'] },
        { networkId: 'brain-mr', conceptId: 'brainstem', dice: [0], datasets: ['freesurfer'] },
      ],
      0.5,
      '1.0.0',
    );
    assert.deepEqual(
      verdicts.map((v) => [v.networkId, v.conceptId, Number(v.meanDice.toFixed(3)), v.withheld !== undefined]),
      [
        ['brain-mr', 'hippocampus', 0.675, false],
        ['body-ct', 'brainstem', 0.6, false],
        ['brain-mr', 'brainstem', 0, true],
      ],
    );
  });
});
