/**
 * Coded concepts of a DICOM SEG segment: category, type, laterality, and the display colour in
 * DICOM's scaled CIELab. Kept apart from the encoder so the reader-side check uses the same rules.
 */
import { srgbToLab } from '../core/colour.js';
import type { LabelEntry } from '../io/label-table.js';
import type { WritableDataset } from '../io/dicom/writable-dataset.js';

/** What kind of thing a segment is (SegmentedPropertyCategoryCodeSequence). */
export type SegmentCategory = 'anatomical-structure' | 'morphologically-abnormal-structure';

/** A label entry that may say its category outright instead of leaving it to be inferred from the id. */
export interface SegLabelEntry extends LabelEntry {
  category?: SegmentCategory;
}

/** A label table whose entries may carry a category; any LabelTable is one. */
export interface SegLabelTable {
  labels: readonly SegLabelEntry[];
}

export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

/**
 * Coding scheme for concepts without a SNOMED CT code: medparse's own vocabulary ids. DICOM reserves
 * designators beginning with "99" for local schemes (PS3.3 8.2), so it is "99MEDPARSE" rather than
 * a bare "MEDPARSE" that could one day clash with a registered scheme; the SEG also describes it in
 * CodingSchemeIdentificationSequence.
 */
export const LOCAL_CODING_SCHEME = '99MEDPARSE';

export const CATEGORY_CODES: Record<SegmentCategory, Code> = {
  'anatomical-structure': { value: '123037004', scheme: 'SCT', meaning: 'Anatomical Structure' },
  'morphologically-abnormal-structure': {
    value: '49755003',
    scheme: 'SCT',
    meaning: 'Morphologically Abnormal Structure',
  },
};

export const LATERALITY_CODES = {
  left: { value: '7771000', scheme: 'SCT', meaning: 'Left' },
  right: { value: '24028007', scheme: 'SCT', meaning: 'Right' },
} as const satisfies Record<string, Code>;

const LESION_WORDS = /lesion|tumou?r|cyst|nodule/i;

export function categoryOf(entry: SegLabelEntry): SegmentCategory {
  if (entry.category) return entry.category;
  return LESION_WORDS.test(entry.id ?? entry.name) ? 'morphologically-abnormal-structure' : 'anatomical-structure';
}

/** SNOMED CT code when the table has one, else the concept id in the local scheme. */
export function typeCodeOf(entry: LabelEntry): Code {
  if (entry.snomed) return { value: entry.snomed.code, scheme: 'SCT', meaning: entry.snomed.meaning };
  return { value: localConceptId(entry), scheme: LOCAL_CODING_SCHEME, meaning: entry.name };
}

/** The vocabulary id, or for a label without one its name as an id ("Left kidney" -> "left_kidney"). */
function localConceptId(entry: LabelEntry): string {
  if (entry.id) return entry.id;
  const slug = entry.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return slug || `label_${entry.value}`;
}

/**
 * The laterality modifier of a segment: the label's own SNOMED modifier, else its laterality, else an id
 * ending in _left/_right (label tables written before labels carried laterality).
 */
export function lateralityOf(entry: LabelEntry): Code | undefined {
  if (entry.modifier) return { value: entry.modifier.code, scheme: 'SCT', meaning: entry.modifier.meaning };
  const id = entry.id ?? '';
  const side = entry.laterality ?? (id.endsWith('_left') ? 'left' : id.endsWith('_right') ? 'right' : undefined);
  if (side === 'left') return LATERALITY_CODES.left;
  if (side === 'right') return LATERALITY_CODES.right;
  return undefined;
}

/**
 * A code sequence item. CodeValue is SH (16 characters at most); longer values, which local
 * vocabulary ids can be, go in LongCodeValue (UC), as PS3.3 8.8 prescribes.
 */
export function codeItem(code: Code): WritableDataset {
  const value = code.value.length > 16 ? { LongCodeValue: code.value } : { CodeValue: code.value };
  return { ...value, CodingSchemeDesignator: code.scheme, CodeMeaning: truncate(code.meaning, 64) };
}

export function truncate(text: string, length: number): string {
  return text.length > length ? text.slice(0, length) : text;
}

/**
 * sRGB (0-255) to DICOM's CIELab encoding (PS3.3 C.10.7.1.1): L* 0..100 and a*, b* -128..127 each
 * scaled linearly to 0..65535. XYZ relative to the D65 white point, as dcmtk and dcmjs do.
 */
export function srgbToDicomLab(rgb: readonly [number, number, number]): [number, number, number] {
  const lab = srgbToLab(rgb);
  const scaled = [(lab[0] * 65535) / 100, ((lab[1] + 128) * 65535) / 255, ((lab[2] + 128) * 65535) / 255];
  return scaled.map((v) => Math.min(65535, Math.max(0, Math.round(v)))) as [number, number, number];
}
