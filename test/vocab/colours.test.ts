import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deltaE } from '../../src/core/colour.js';
import {
  MIN_TOUCHING_DELTA_E,
  assignColours,
  colourProblems,
  isVisibleColour,
  loadLabelNeighbours,
  loadVocabulary,
  touchingPairs,
} from '../../src/vocab/index.js';

const vocab = loadVocabulary();
const colours = new Map(vocab.concepts.map((c) => [c.id, c.color] as const));
const pairs = touchingPairs(vocab.concepts, loadLabelNeighbours());

describe('vocabulary colours', () => {
  it('gives every concept a visible colour: none black, none grey', () => {
    const invisible = vocab.concepts
      .filter((c) => !isVisibleColour(c.color))
      .map((c) => `${c.id} ${c.color.join(',')}`);
    assert.deepEqual(invisible, []);
  });

  it('colours structures that touch apart (parts, sibling parts, lesion and organ, label-map neighbours)', () => {
    assert.ok(pairs.length > 1000, `${pairs.length} touching pairs`);
    assert.deepEqual(
      colourProblems(colours, pairs).map((p) => p.problem + ': ' + p.ids.join(', ')),
      [],
    );
  });

  it('counts as touching the pairs the issue names', () => {
    const touching = (a: string, b: string) => pairs.some((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a));
    assert.ok(touching('kidney', 'kidney_left'), 'a structure and its side');
    assert.ok(touching('kidney_tumor', 'kidney_right'), 'a lesion and its organ');
    assert.ok(touching('heart_ventricle_left', 'left_ventricle_myocardium'), 'neighbours in ACDC');
    assert.ok(touching('liver', 'kidney_right'), 'neighbours in the TotalSegmentator map');
    assert.ok(touching('brain', 'brainstem'), 'neighbours in the head-and-neck masks');
    assert.ok(touching('brainstem', 'cerebellar_cortex_left'), 'neighbours in the FreeSurfer map');
  });

  it('keeps the established tables where they are distinct (TotalSegmentator liver and spleen)', () => {
    assert.deepEqual(vocab.require('liver').color, [221, 130, 101]);
    assert.deepEqual(vocab.require('spleen').color, [157, 108, 162]);
  });
});

describe('assignColours', () => {
  const pair = [{ a: 'part', b: 'whole', reason: 'part' as const }];

  it('keeps a proposed colour that is visible and clear of its touching structures', () => {
    const proposed = new Map([
      ['whole', { colour: [200, 40, 40] as const, rank: 0 }],
      ['part', { colour: [60, 90, 220] as const, rank: 0 }],
    ]);
    const assigned = assignColours(['whole', 'part'], proposed, pair);
    assert.deepEqual(assigned.get('whole'), [200, 40, 40]);
    assert.deepEqual(assigned.get('part'), [60, 90, 220]);
  });

  it('moves the less sure of two touching structures with one colour, and nothing else', () => {
    const proposed = new Map([
      ['whole', { colour: [200, 40, 40] as const, rank: 5 }],
      ['part', { colour: [200, 40, 40] as const, rank: 0 }],
      ['far', { colour: [200, 40, 40] as const, rank: 0 }],
    ]);
    const assigned = assignColours(['whole', 'part', 'far'], proposed, pair);
    assert.deepEqual(assigned.get('part'), [200, 40, 40]);
    assert.deepEqual(assigned.get('far'), [200, 40, 40], 'a structure that touches neither keeps its colour');
    const moved = assigned.get('whole') ?? [0, 0, 0];
    assert.ok(deltaE(moved, [200, 40, 40]) >= MIN_TOUCHING_DELTA_E);
    assert.ok(deltaE(moved, [200, 40, 40]) < 40, `moved to the nearest clear colour, got ${moved.join(',')}`);
  });

  it('replaces black and grey proposals with visible colours', () => {
    const proposed = new Map([
      ['black', { colour: [0, 0, 0] as const, rank: 0 }],
      ['grey', { colour: [245, 245, 245] as const, rank: 0 }],
    ]);
    const assigned = assignColours(['black', 'grey', 'none'], proposed, []);
    for (const id of ['black', 'grey', 'none']) assert.ok(isVisibleColour(assigned.get(id) ?? [0, 0, 0]), id);
  });

  it('reports a near-duplicate between touching structures', () => {
    const problems = colourProblems(
      new Map([
        ['part', [200, 40, 40]],
        ['whole', [205, 45, 40]],
      ]),
      pair,
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0].problem, /differ by only/);
  });
});
