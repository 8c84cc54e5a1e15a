/**
 * Vocabulary benchmarks: loading the committed vocabulary, and resolving single prompts (exact
 * names, abbreviations, lesion phrases, misspellings, nonsense) once loaded.
 */
import { performance } from 'node:perf_hooks';
import { VOCABULARY_PATH, Vocabulary, parsePrompts, readVocabularyFile } from '../src/vocab/index.js';
import { MISSPELLINGS, NEGATIVE_CASES, POSITIVE_CASES } from '../test/vocab/prompt-cases.js';

const ROUNDS = 10_000;

export async function benchVocabulary(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const loadStart = performance.now();
  const vocab = new Vocabulary(readVocabularyFile(VOCABULARY_PATH));
  const loadMs = performance.now() - loadStart;

  const prompts = [...POSITIVE_CASES.map(([text]) => text), ...NEGATIVE_CASES.map(([text]) => text)];
  for (const text of prompts) parsePrompts(text, vocab); // warm up the JIT
  const all = timePrompts(prompts, vocab);
  const misspelled = timePrompts(
    MISSPELLINGS.map(([text]) => text),
    vocab,
  );
  const unknown = timePrompts(
    NEGATIVE_CASES.map(([text]) => text),
    vocab,
  );
  return [
    { name: 'load data/vocabulary.json and index it', value: loadMs, unit: 'ms' },
    { name: 'concepts', value: vocab.size, unit: 'count' },
    { name: `resolve, median (${ROUNDS} prompts from the test table)`, value: all.median, unit: 'ms' },
    { name: 'resolve, p99', value: all.p99, unit: 'ms' },
    { name: 'resolve misspelled prompt, median', value: misspelled.median, unit: 'ms' },
    { name: 'resolve misspelled prompt, p99', value: misspelled.p99, unit: 'ms' },
    { name: 'resolve unknown/ambiguous prompt, median', value: unknown.median, unit: 'ms' },
    { name: 'resolve unknown/ambiguous prompt, p99', value: unknown.p99, unit: 'ms' },
  ];
}

function timePrompts(prompts: string[], vocab: Vocabulary): { median: number; p99: number } {
  const times = new Float64Array(ROUNDS);
  for (let i = 0; i < ROUNDS; i++) {
    const text = prompts[i % prompts.length];
    const start = performance.now();
    parsePrompts(text, vocab);
    times[i] = performance.now() - start;
  }
  times.sort();
  return { median: times[Math.floor(ROUNDS / 2)], p99: times[Math.floor(ROUNDS * 0.99)] };
}
