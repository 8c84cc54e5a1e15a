import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lowestCell, summarizeDice } from '../../src/eval/dice-summary.js';

describe('eval row summary (mean and lowest held-out Dice)', () => {
  it('names the lowest case, wherever it was measured', () => {
    const summary = summarizeDice([
      { dataset: 'acdc', patient: 'patient101', dice: 0.95 },
      { dataset: 'acdc', patient: 'patient012', dice: 0.612 },
      { dataset: 'acdc', patient: 'patient103', dice: 0.93 },
    ]);
    assert.deepEqual(summary, {
      cases: 3,
      meanDice: (0.95 + 0.612 + 0.93) / 3,
      lowestDice: 0.612,
      lowestCase: 'acdc/patient012',
    });
    assert.equal(lowestCell(summary!), '0.612 (acdc/patient012)');
  });

  it('a single case is its own mean and lowest', () => {
    const summary = summarizeDice([{ dataset: 'msd_hippocampus', patient: 'hippocampus_003', dice: 0.8 }]);
    assert.deepEqual(summary, {
      cases: 1,
      meanDice: 0.8,
      lowestDice: 0.8,
      lowestCase: 'msd_hippocampus/hippocampus_003',
    });
  });

  it('on a tie, the first measured case is named', () => {
    const summary = summarizeDice([
      { dataset: 'acdc', patient: 'patient105', dice: 0.9 },
      { dataset: 'acdc', patient: 'patient102', dice: 0.7 },
      { dataset: 'acdc', patient: 'patient104', dice: 0.7 },
    ]);
    assert.equal(summary?.lowestCase, 'acdc/patient102');
    assert.equal(summary?.lowestDice, 0.7);
  });

  it('a concept measured on two data sets names the data set of the lowest, though patient ids repeat', () => {
    const summary = summarizeDice([
      { dataset: 'acdc', patient: 'patient1', dice: 0.94 },
      { dataset: 'mscmr_bssfp', patient: 'patient1', dice: 0.66 },
      { dataset: 'acdc', patient: 'patient2', dice: 0.92 },
    ]);
    assert.equal(summary?.lowestCase, 'mscmr_bssfp/patient1');
    assert.equal(summary?.lowestDice, 0.66);
    assert.equal(summary?.cases, 3);
  });

  it('a Dice of 0 (the concept missed) is the lowest, and no cases is no row', () => {
    const summary = summarizeDice([
      { dataset: 'acdc', patient: 'patient1', dice: 0.5 },
      { dataset: 'acdc', patient: 'patient2', dice: 0 },
    ]);
    assert.equal(summary?.lowestCase, 'acdc/patient2');
    assert.equal(lowestCell(summary!), '0.000 (acdc/patient2)');
    assert.equal(summarizeDice([]), undefined);
  });
});
