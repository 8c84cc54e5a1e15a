/**
 * Reading the vocabulary's data files from disk (Node). The Vocabulary itself (vocabulary.ts) takes
 * already-parsed data, so a browser can build it from a fetched file.
 */
import { readFileSync } from 'node:fs';
import { dataFile } from '../core/paths.js';
import type { LabelNeighbour } from './colours.js';
import type { DatasetLabelFile, VocabularyFile } from './types.js';
import { isRecord, validateVocabularyFile, Vocabulary } from './vocabulary.js';

export const VOCABULARY_PATH = dataFile('vocabulary.json');
export const DATASET_LABELS_PATH = dataFile('dataset-labels.json');
/** Concepts that lie side by side in reference label maps (scripts/label-neighbours.ts). */
export const LABEL_NEIGHBOURS_PATH = dataFile('label-neighbours.json');

let cached: Vocabulary | undefined;

/** Loads data/vocabulary.json once (synchronously) and reuses it. */
export function loadVocabulary(path: string = VOCABULARY_PATH): Vocabulary {
  if (path === VOCABULARY_PATH && cached) return cached;
  const vocabulary = new Vocabulary(readVocabularyFile(path));
  if (path === VOCABULARY_PATH) cached = vocabulary;
  return vocabulary;
}

export function readVocabularyFile(path: string): VocabularyFile {
  const parsed = readJson(path, 'vocabulary');
  return validateVocabularyFile(parsed, path);
}

/** Loads data/dataset-labels.json: dataset label -> concept id, for training. */
export function loadDatasetLabels(path: string = DATASET_LABELS_PATH): DatasetLabelFile {
  const parsed = readJson(path, 'dataset label map');
  if (!isRecord(parsed) || typeof parsed.version !== 'number' || !isRecord(parsed.datasets)) {
    throw new Error(`${path}: not a dataset label map (expected {version, datasets})`);
  }
  return parsed as unknown as DatasetLabelFile;
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `cannot read the ${what} at ${path} (${reason}); rebuild it with node dist/scripts/build-vocabulary.js`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the ${what} at ${path} is not valid JSON: ${reason}`);
  }
}

/** The committed label-map neighbours (colours.ts, rule 4), as scripts/label-neighbours.ts wrote them. */
export function loadLabelNeighbours(path: string = LABEL_NEIGHBOURS_PATH): LabelNeighbour[] {
  const file = JSON.parse(readFileSync(path, 'utf8')) as { pairs?: unknown };
  if (!Array.isArray(file.pairs)) throw new Error(`${path}: no "pairs" list`);
  return file.pairs as LabelNeighbour[];
}
