/**
 * Shapes of medparse's anatomy vocabulary.
 *
 * Data files (both written by `scripts/build-vocabulary.ts`, committed, read at run time):
 *
 * - `data/vocabulary.json` is a {@link VocabularyFile}: `concepts` (one {@link Concept} each),
 *   `ambiguousTerms` (words that name several concepts and must not be guessed, e.g. "ventricle"),
 *   and `sources` (where the concepts came from).
 *
 * - `data/dataset-labels.json` is a {@link DatasetLabelFile}: for each training dataset the
 *   project has (`../shared/data`), its label values and names, each mapped to a concept id:
 *
 *   ```json
 *   { "version": 1,
 *     "datasets": {
 *       "acdc": { "description": "...", "labels": {
 *         "0": { "name": "background", "concept": null, "relation": "background" },
 *         "1": { "name": "right ventricle cavity", "concept": "heart_ventricle_right", "relation": "exact" } } } } }
 *   ```
 *
 *   `relation` says how the label relates to its concept: `exact` (the label is that structure),
 *   `part_of` (the label is a smaller region inside the concept, e.g. one Destrieux cortical parcel
 *   mapped to the left cerebral cortex: merge such labels to train the concept), or `background`
 *   (label 0 / unknown: `concept` is null). A dataset whose masks are one file per structure
 *   (DeepMind head-and-neck, TotalSegmentator CTA crops) is keyed by file stem instead of a number.
 */

export type Laterality = 'left' | 'right' | 'bilateral';

export type Modality = 'CT' | 'MR' | 'PET';

export const LESION_KINDS = ['lesion', 'tumor', 'cyst', 'nodule', 'metastasis', 'hemorrhage', 'other'] as const;

export type LesionKind = (typeof LESION_KINDS)[number];

const GENERIC_LESION: Readonly<Record<LesionKind, string>> = {
  lesion: 'lesion',
  tumor: 'tumor',
  cyst: 'cyst',
  nodule: 'nodule',
  metastasis: 'metastasis',
  hemorrhage: 'hemorrhage',
  other: 'lesion',
};

/**
 * The generic concept of a lesion kind ('other' falls under plain 'lesion'): where the parser lands
 * when an organ has no lesion concept of that kind, and what an organ's own lesion concept is a kind
 * of. Its id is also its name, the word an organ lesion is named with ("liver cyst").
 */
export function genericLesionId(kind: LesionKind): string {
  return GENERIC_LESION[kind];
}

export const CATEGORIES = [
  'organ',
  'organ_part',
  'gland',
  'vessel',
  'bone',
  'cartilage',
  'joint',
  'muscle',
  'brain_structure',
  'nervous_system',
  'cavity',
  'tissue',
  'body_region',
  'tooth',
  'lesion',
  'device',
  'target_volume',
  'group',
] as const;

export type Category = (typeof CATEGORIES)[number];

/** A code from a coding scheme (DICOM triplet). */
export interface CodedValue {
  scheme: string;
  code: string;
  meaning: string;
}

/**
 * DICOM SEG segment terminology: category, type, optional type modifier (e.g. Left/Right) and, for
 * lesions and other findings, the anatomic region they lie in.
 */
export interface DicomSegCodes {
  category: CodedValue;
  type: CodedValue;
  typeModifier: CodedValue | null;
  anatomicRegion: CodedValue | null;
}

export interface Concept {
  id: string;
  name: string;
  category: Category;
  synonyms: string[];
  abbreviations: string[];
  /** Adjective forms that name the concept inside phrases: "hepatic", "renal". */
  adjectives: string[];
  /** Side of a sided concept; null for midline or unsided ones. */
  laterality: Laterality | null;
  /** For a sided concept, its unsided parent ("kidney_left" -> "kidney"). */
  unsided: string | null;
  /** For an unsided concept with sided variants. */
  sided: { left: string; right: string } | null;
  isA: string[];
  partOf: string[];
  /** For lesions: the organ or structure they are found in. */
  locatedIn: string | null;
  /** For lesions: what kind, so "renal cyst" finds the cyst concept in the kidney. */
  lesionKind: LesionKind | null;
  modalities: Modality[];
  snomed: CodedValue | null;
  dicom: DicomSegCodes | null;
  /** Display colour, 0-255 RGB. */
  color: [number, number, number];
  /** Other identifiers (UBERON, FMA, RadLex, UMLS) where known. */
  codes: Record<string, string>;
  /** Class names of public models/atlases that denote this concept, by source ("TotalSegmentator/total": ["liver"]). */
  sourceLabels: Record<string, string[]>;
}

export interface AmbiguousTerm {
  term: string;
  candidates: string[];
  note: string;
}

export interface VocabularyFile {
  version: number;
  generatedBy: string;
  sources: string[];
  concepts: Concept[];
  ambiguousTerms: AmbiguousTerm[];
}

export type LabelRelation = 'exact' | 'part_of' | 'background';

export interface DatasetLabel {
  name: string;
  concept: string | null;
  relation: LabelRelation;
}

export interface DatasetLabels {
  description: string;
  labels: Record<string, DatasetLabel>;
}

export interface DatasetLabelFile {
  version: number;
  datasets: Record<string, DatasetLabels>;
}

/** A concept as it is reported in parse results. */
export interface ConceptRef {
  id: string;
  name: string;
  laterality: Laterality | null;
  snomed: string | null;
}

export type PromptStatus = 'resolved' | 'ambiguous' | 'unknown';

export type MatchKind = 'exact' | 'synonym' | 'abbreviation' | 'adjective' | 'lesion' | 'fuzzy' | 'none';

export interface ParsedPrompt {
  /** The prompt as it appeared in the input text. */
  text: string;
  status: PromptStatus;
  /** The concept(s) meant: one when resolved, the candidates when ambiguous, none when unknown. */
  concepts: ConceptRef[];
  /** 0..1; 1 for an exact name, lower for abbreviations, and clearly lower for corrected spellings. */
  confidence: number;
  matchedBy: MatchKind;
  /** Side asked for ("both kidneys" -> bilateral), whether or not a sided concept exists. */
  laterality: Laterality | null;
  /** For lesion phrases: where the lesion is ("renal cyst" -> kidney). */
  location?: ConceptRef;
  /** Imaging modality named in the prompt ("in CT"). */
  modalityHint?: Modality;
  /** Concept names the user may have meant (for ambiguous and unknown prompts). */
  suggestions: string[];
  /** Why the result is not a plain match, for people reading the output. */
  notes: string[];
}
