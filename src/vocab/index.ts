export type {
  AmbiguousTerm,
  Category,
  CodedValue,
  Concept,
  ConceptRef,
  DatasetLabel,
  DatasetLabelFile,
  DatasetLabels,
  DicomSegCodes,
  LabelRelation,
  Laterality,
  LesionKind,
  MatchKind,
  Modality,
  ParsedPrompt,
  PromptStatus,
  VocabularyFile,
} from './types.js';
export { CATEGORIES, LESION_KINDS } from './types.js';
export { Vocabulary, validateVocabularyFile } from './vocabulary.js';
export {
  DATASET_LABELS_PATH,
  VOCABULARY_PATH,
  loadDatasetLabels,
  loadLabelNeighbours,
  loadVocabulary,
  readVocabularyFile,
} from './vocabulary-file.js';
export { parsePrompts, resolvePrompt, type ParseOptions } from './parser.js';
export { editDistance, normalizeTokens, termKey } from './normalize.js';
export {
  MIN_TOUCHING_DELTA_E,
  assignColours,
  colourProblems,
  isVisibleColour,
  touchingPairs,
  type LabelNeighbour,
  type TouchingPair,
} from './colours.js';
