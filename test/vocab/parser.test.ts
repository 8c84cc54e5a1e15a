import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadVocabulary, parsePrompts, resolvePrompt } from '../../src/vocab/index.js';
import { MISSPELLINGS, NEGATIVE_CASES, POSITIVE_CASES } from './prompt-cases.js';

const vocab = loadVocabulary();

describe('prompt table', () => {
  it('has at least 300 positive and 50 negative cases', () => {
    assert.ok(POSITIVE_CASES.length >= 300, `${POSITIVE_CASES.length} positive cases`);
    assert.ok(NEGATIVE_CASES.length >= 50, `${NEGATIVE_CASES.length} negative cases`);
  });

  it('resolves every positive case to the expected concepts, one prompt each', () => {
    const failures: string[] = [];
    for (const [text, expected] of POSITIVE_CASES) {
      const ids = typeof expected === 'string' ? [expected] : expected;
      const prompts = parsePrompts(text, vocab);
      const got = prompts.map((p) =>
        p.status === 'resolved' ? p.concepts.map((c) => c.id).join('|') : `<${p.status}>`,
      );
      if (got.join(', ') !== ids.join(', '))
        failures.push(`${JSON.stringify(text)}: expected ${ids.join(', ')}, got ${got.join(', ')}`);
    }
    assert.deepEqual(failures, []);
  });

  it('never resolves a negative case', () => {
    const failures: string[] = [];
    for (const [text, status] of NEGATIVE_CASES) {
      const prompts = parsePrompts(text, vocab);
      const got = prompts.map((p) => `${p.status}:${p.concepts.map((c) => c.id).join('|')}`);
      if (prompts.length !== 1 || prompts[0].status !== status)
        failures.push(`${JSON.stringify(text)}: expected ${status}, got ${got.join(', ')}`);
    }
    assert.deepEqual(failures, []);
  });

  it('gives misspellings a lower confidence than exact names and says what it read', () => {
    for (const [text] of MISSPELLINGS.filter(([t]) => t !== 'brainstem')) {
      const [prompt] = parsePrompts(text, vocab);
      assert.equal(prompt.matchedBy, 'fuzzy', text);
      assert.ok(prompt.confidence <= 0.85, `${text}: ${prompt.confidence}`);
      assert.ok(
        prompt.notes.some((n) => n.startsWith('read as')),
        text,
      );
    }
    assert.equal(resolvePrompt('liver', vocab).confidence, 1);
  });
});

describe('parsePrompts details', () => {
  it('reports laterality, including bilateral for "both kidneys"', () => {
    const [both] = parsePrompts('both kidneys', vocab);
    assert.equal(both.laterality, 'bilateral');
    assert.deepEqual(
      vocab
        .partsOf('kidney')
        .map((c) => c.id)
        .sort(),
      ['kidney_left', 'kidney_right'],
    );
    assert.equal(parsePrompts('left kidney', vocab)[0].concepts[0].laterality, 'left');
  });

  it('locates lesions in their organ', () => {
    const [renal] = parsePrompts('renal tumour', vocab);
    assert.equal(renal.concepts[0].id, 'kidney_tumor');
    const [femur] = parsePrompts('left femur tumour', vocab);
    assert.equal(femur.concepts[0].id, 'bone_lesion');
    assert.equal(femur.location?.id, 'femur_left');
    assert.equal(vocab.get('liver_lesion')?.locatedIn, 'liver');
  });

  it('extracts modality hints but keeps a lone T1 as a vertebra', () => {
    assert.equal(parsePrompts('liver in CT', vocab)[0].modalityHint, 'CT');
    assert.equal(parsePrompts('brain on T1 MRI', vocab)[0].modalityHint, 'MR');
    const [t1] = parsePrompts('T1', vocab);
    assert.equal(t1.concepts[0].id, 'vertebra_t1');
    assert.equal(t1.modalityHint, undefined);
  });

  it('keeps the text of each prompt as typed', () => {
    assert.deepEqual(
      parsePrompts('Liver, the Spleen and both kidneys.', vocab).map((p) => p.text),
      ['Liver', 'the Spleen', 'both kidneys'],
    );
  });

  it('offers suggestions for unknown prompts that share a word with a concept', () => {
    const [prompt] = parsePrompts('kidney stone', vocab);
    assert.equal(prompt.status, 'unknown');
    assert.ok(prompt.suggestions.includes('kidney'), prompt.suggestions.join(', '));
    assert.deepEqual(parsePrompts('banana', vocab)[0].suggestions, []);
  });

  it('lists the candidates of an ambiguous prompt', () => {
    const [prompt] = parsePrompts('ventricle', vocab);
    assert.equal(prompt.status, 'ambiguous');
    const ids = prompt.concepts.map((c) => c.id);
    assert.ok(ids.includes('heart_ventricle') && ids.includes('lateral_ventricle'), ids.join(', '));
    assert.ok(prompt.suggestions.length >= 2);
  });

  it('does not correct spelling when asked not to', () => {
    assert.equal(resolvePrompt('liverr', vocab, { fuzzy: false }).status, 'unknown');
  });

  it('returns no prompts for empty text', () => {
    assert.deepEqual(parsePrompts(' , ; ', vocab), []);
  });
});
