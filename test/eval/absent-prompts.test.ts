import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absentPromptOrder } from '../../src/eval/absent-prompts.js';

describe('absentPromptOrder', () => {
  it('asks the concepts answered on this kind of scan first, then withheld ones, at most 8', () => {
    // ACDC after 0.4.1: the hippocampus and its parts withheld on whole scans, tumour subregions withheld
    const withheld = new Set(['hippocampus', 'hippocampus_anterior', 'hippocampus_posterior', 'brain_tumor_core']);
    const candidates = [
      'hippocampus',
      'hippocampus_anterior',
      'hippocampus_posterior',
      'brain_tumor_core',
      'hippocampus', // listed twice (trainer's absent list and the other network's concepts)
      'brain_tumor',
      'thalamus_left',
    ];
    const asked = absentPromptOrder(candidates, (id) => withheld.has(id), 4);
    assert.deepEqual(asked, ['brain_tumor', 'thalamus_left', 'hippocampus', 'hippocampus_anterior']);
  });

  it('keeps every candidate when there are no more than the limit', () => {
    assert.deepEqual(
      absentPromptOrder(['a', 'b'], () => false),
      ['a', 'b'],
    );
  });
});
