/**
 * Answers made as the answer stage makes them, for the tests of what comes after it (label map,
 * overlaps, result files): a concept of the committed vocabulary and a mask described on its tight box.
 */
import type { Volume } from '../../src/core/volume.js';
import { tightBox } from '../../src/ops/index.js';
import { describeMask } from '../../src/tasks/mask-analysis.js';
import type { PromptResult } from '../../src/tasks/results.js';
import { loadVocabulary } from '../../src/vocab/index.js';

/**
 * A present answer for concept `id` whose mask is `probability` (0..255 on the volume's grid): its
 * statistics and instances describe that mask. No evidence: the tests that read it add their own.
 */
export function presentPromptResult(id: string, probability: Uint8Array, volume: Volume, score: number): PromptResult {
  const vocabulary = loadVocabulary();
  const concept = vocabulary.require(id);
  const { statistics, instances } = describeMask(probability, tightBox(probability, volume.dims), volume);
  return {
    text: concept.name,
    status: 'present',
    score,
    concept: { ...vocabulary.ref(id), category: concept.category },
    probability,
    statistics,
    instances,
    suggestions: [],
    notes: [],
  };
}
