import { loadVocabulary, parsePrompts, type ParsedPrompt } from '../vocab/index.js';

/**
 * What a prompt text names in medparse's vocabulary, prompt by prompt ("liver, both kidneys" -> two):
 * resolved concepts, or ambiguous/unknown with suggestions. No image and no model are needed.
 */
export function resolvePrompts(text: string): ParsedPrompt[] {
  return parsePrompts(text, loadVocabulary());
}
