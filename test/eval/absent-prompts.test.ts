import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absentPromptOrder, withinVoxelBudget } from '../../src/eval/absent-prompts.js';

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

describe('withinVoxelBudget', () => {
  // 0.6.0's brainstem rows: body-ct (CT, 3 mm) and brain-structures-mr (MR, 1 mm)
  const networks = [
    { modalities: ['CT'], spacing: [3, 3, 3] as const, concepts: [{ id: 'brainstem' }, { id: 'liver' }] },
    { modalities: ['MR'], spacing: [1, 1, 1] as const, concepts: [{ id: 'brainstem' }] },
    { modalities: ['MR'], spacing: [1.5, 1.5, 5] as const, concepts: [{ id: 'myocardium' }] },
  ];
  // a 256 x 256 x 13 cine stack of 1.37 x 1.37 x 10 mm voxels: 16.3 M voxels at 1 mm, 0.6 M at 3 mm
  const cineMm3 = 256 * 256 * 13 * 1.37 * 1.37 * 10;

  it("judges a concept by the networks that read the scan's modality, not by another modality's grid", () => {
    assert.equal(withinVoxelBudget('brainstem', networks, 'MR', cineMm3, 5_000_000), false);
    assert.equal(withinVoxelBudget('brainstem', networks, 'CT', cineMm3, 5_000_000), true);
    assert.equal(withinVoxelBudget('myocardium', networks, 'MR', cineMm3, 5_000_000), true);
  });

  it('asks a concept no network of the modality lists, and any concept without a budget', () => {
    assert.equal(withinVoxelBudget('brainstem_left', networks, 'MR', cineMm3, 5_000_000), true);
    assert.equal(withinVoxelBudget('brainstem', networks, 'MR', cineMm3, Infinity), true);
  });
});
