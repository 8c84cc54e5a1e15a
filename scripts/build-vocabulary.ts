/**
 * Rebuilds data/vocabulary.json and data/dataset-labels.json from ../shared/vocab (the merged draft,
 * code tables, colour tables) and ../shared/data/label-names, applying scripts/vocab-curation.ts.
 *
 *   npm run build && node dist/scripts/build-vocabulary.js [--shared <dir>]
 *
 * The run fails (exit 1) if a concept link dangles or a dataset label maps to no concept.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseCsv } from '../src/core/csv.js';
import { DATA_DIR, PACKAGE_ROOT } from '../src/core/paths.js';
import { termKey } from '../src/vocab/normalize.js';
import { resolvePrompt } from '../src/vocab/parser.js';
import type {
  AmbiguousTerm,
  CodedValue,
  Concept,
  DatasetLabel,
  DatasetLabelFile,
  DatasetLabels,
  DicomSegCodes,
  Laterality,
  LesionKind,
  Modality,
  VocabularyFile,
} from '../src/vocab/types.js';
import { genericLesionId } from '../src/vocab/types.js';
import {
  assignColours,
  colourProblems,
  touchingPairs,
  type LabelNeighbour,
  type ProposedColour,
} from '../src/vocab/colours.js';
import { Vocabulary, validateVocabularyFile } from '../src/vocab/vocabulary.js';
import { loadLabelNeighbours } from '../src/vocab/vocabulary-file.js';
import {
  AMBIGUOUS_TERMS,
  ATLAS_REGION_RULES,
  BRAIN_ABBREVIATIONS_KEPT,
  CATEGORY_MAP,
  CATEGORY_OVERRIDES,
  EXTRA_DATASETS,
  JUNK_SYNONYMS,
  LABEL_OVERRIDES,
  NEW_CONCEPTS,
  ORGAN_LESION_KINDS,
  ORGAN_LESIONS,
  PATCHES,
  REMOVED_IDS,
  RENAMED_IDS,
  type ConceptPatch,
  type NewConcept,
} from './vocab-curation.js';

const REPO_ROOT = PACKAGE_ROOT;

interface DraftCode {
  scheme: string;
  code: string;
  meaning: string;
}

interface DraftConcept {
  id: string;
  name: string;
  synonyms: string[];
  abbreviations: string[];
  adjectives?: string[];
  laterality: Laterality | null;
  unsided: string | null;
  parent: string | null;
  parent_relation: string | null;
  located_in: string | null;
  category: string;
  modalities: string[];
  codes: Record<string, string>;
  dicom_seg: {
    category: DraftCode;
    type: DraftCode;
    type_modifier: DraftCode | null;
    anatomic_region: DraftCode | null;
  } | null;
  source_labels: Record<string, string[]>;
}

const LEFT: CodedValue = { scheme: 'SCT', code: '7771000', meaning: 'Left' };
const RIGHT: CodedValue = { scheme: 'SCT', code: '24028007', meaning: 'Right' };
const ANATOMY: CodedValue = { scheme: 'SCT', code: '123037004', meaning: 'Anatomical Structure' };
const MORPHOLOGY: CodedValue = { scheme: 'SCT', code: '49755003', meaning: 'Morphologically Altered Structure' };
const PHYSICAL_OBJECT: CodedValue = { scheme: 'SCT', code: '260787004', meaning: 'Physical object' };

function main(): void {
  const sharedIndex = process.argv.indexOf('--shared');
  const shared =
    sharedIndex > 0
      ? resolve(process.argv[sharedIndex + 1])
      : (process.env.MEDPARSE_SHARED ?? join(REPO_ROOT, '..', 'shared'));
  if (!existsSync(join(shared, 'vocab', 'vocabulary-draft.json'))) {
    throw new Error(`no vocabulary draft under ${shared}/vocab; pass --shared <dir>`);
  }
  const draft = readJson<DraftConcept[]>(join(shared, 'vocab', 'vocabulary-draft.json'));
  const concepts = buildConcepts(draft, shared);
  const file: VocabularyFile = {
    version: 1,
    generatedBy:
      'scripts/build-vocabulary.ts from ../shared/vocab (vocabulary-draft.json, source tables) + scripts/vocab-curation.ts',
    sources: readSources(shared),
    concepts,
    ambiguousTerms: AMBIGUOUS_TERMS.map((t): AmbiguousTerm => ({
      term: t.term,
      candidates: [...t.candidates],
      note: t.note,
    })),
  };
  validateVocabularyFile(file, 'built vocabulary');
  const vocab = new Vocabulary(file);
  reportCollisions(vocab, concepts);
  const datasets = buildDatasetLabels(shared, vocab);
  writeJson(join(DATA_DIR, 'vocabulary.json'), file);
  writeJson(join(DATA_DIR, 'dataset-labels.json'), datasets);
  const counts = countBy(concepts.map((c) => c.category));
  console.log(`wrote data/vocabulary.json: ${concepts.length} concepts ${JSON.stringify(counts)}`);
  const labelCount = Object.values(datasets.datasets).reduce((n, d) => n + Object.keys(d.labels).length, 0);
  console.log(
    `wrote data/dataset-labels.json: ${Object.keys(datasets.datasets).length} datasets, ${labelCount} labels`,
  );
}

// ---------------------------------------------------------------- concepts

function buildConcepts(draft: DraftConcept[], shared: string): Concept[] {
  const byId = new Map<string, Concept>();
  for (const entry of draft) {
    if (REMOVED_IDS.has(entry.id)) continue;
    const concept = fromDraft(entry);
    byId.set(concept.id, concept);
  }
  for (const entry of NEW_CONCEPTS) byId.set(entry.id, fromNew(entry));
  addOrganLesions(byId);
  for (const [id, patch] of Object.entries(PATCHES)) {
    const concept = byId.get(id);
    if (!concept) throw new Error(`curation patches unknown concept "${id}"`);
    applyPatch(concept, patch);
  }
  addNumberedSynonyms(byId);
  linkSides(byId);
  linkBonesToBone(byId);
  const concepts = [...byId.values()];
  for (const concept of concepts) {
    dropDanglingLinks(concept, byId);
    cleanTerms(concept);
    completeDicom(concept, byId);
  }
  colourConcepts(concepts, shared);
  resolveCollisions(concepts);
  return concepts.sort((a, b) => a.id.localeCompare(b.id));
}

function renameId(id: string): string {
  const renamed = RENAMED_IDS[id] ?? id;
  return renamed.replace(/^vertebrae_([a-z]\d+)$/i, 'vertebra_$1').toLowerCase();
}

function fromDraft(entry: DraftConcept): Concept {
  const id = renameId(entry.id);
  const parent = entry.parent ? renameId(entry.parent) : null;
  const relation = entry.parent_relation ?? '';
  const unsided = entry.unsided ? renameId(entry.unsided) : null;
  const dicom = entry.dicom_seg;
  return {
    id,
    name: entry.name,
    category:
      CATEGORY_OVERRIDES[id] ?? CATEGORY_MAP[entry.category] ?? fail(`no category for draft "${entry.category}"`),
    synonyms: entry.synonyms.filter((s) => !JUNK_SYNONYMS.has(s.toLowerCase())),
    abbreviations:
      entry.category === 'brain/CNS'
        ? entry.abbreviations.filter((a) => BRAIN_ABBREVIATIONS_KEPT.has(a))
        : [...entry.abbreviations],
    adjectives: [...(entry.adjectives ?? [])],
    laterality: entry.laterality,
    unsided,
    sided: null,
    isA: relation === 'is_a' && parent && parent !== unsided ? [parent] : [],
    partOf: relation.startsWith('part_of') && parent ? [parent] : [],
    locatedIn: entry.located_in ? renameId(entry.located_in) : relation === 'located_in' && parent ? parent : null,
    lesionKind: null,
    modalities: entry.modalities.filter((m): m is Modality => m === 'CT' || m === 'MR' || m === 'PET'),
    snomed: entry.codes.snomed
      ? {
          scheme: 'SCT',
          code: entry.codes.snomed,
          meaning: entry.codes.snomed_meaning ?? dicom?.type.meaning ?? entry.name,
        }
      : null,
    dicom: dicom
      ? {
          category: coded(dicom.category),
          type: coded(dicom.type),
          typeModifier: dicom.type_modifier ? coded(dicom.type_modifier) : null,
          anatomicRegion: dicom.anatomic_region ? coded(dicom.anatomic_region) : null,
        }
      : null,
    color: [0, 0, 0],
    codes: pickCodes(entry.codes),
    sourceLabels: Object.fromEntries(Object.entries(entry.source_labels).map(([k, v]) => [k, [...new Set(v)]])),
  };
}

function coded(code: DraftCode): CodedValue {
  return { scheme: code.scheme, code: code.code, meaning: code.meaning };
}

function pickCodes(codes: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const key of ['uberon', 'fma', 'radlex', 'umls']) if (codes[key]) kept[key] = codes[key];
  return kept;
}

function fromNew(entry: NewConcept): Concept {
  return {
    id: entry.id,
    name: entry.name,
    category: entry.category,
    synonyms: [...(entry.synonyms ?? [])],
    abbreviations: [...(entry.abbreviations ?? [])],
    adjectives: [...(entry.adjectives ?? [])],
    laterality: entry.laterality ?? null,
    unsided: entry.unsided ?? null,
    sided: null,
    isA: [...(entry.isA ?? [])],
    partOf: [...(entry.partOf ?? [])],
    locatedIn: entry.locatedIn ?? null,
    lesionKind: entry.lesionKind ?? null,
    modalities: [...entry.modalities],
    snomed: entry.snomed ? { scheme: 'SCT', code: entry.snomed[0], meaning: entry.snomed[1] } : null,
    dicom: null,
    color: [0, 0, 0],
    codes: {},
    sourceLabels: {},
  };
}

const LESION_SNOMED: Readonly<Record<LesionKind, [string, string]>> = {
  lesion: ['52988006', 'Lesion'],
  tumor: ['108369006', 'Neoplasm'],
  cyst: ['367643001', 'Cyst'],
  nodule: ['27925004', 'Nodule'],
  metastasis: ['14799000', 'Neoplasm, metastatic'],
  hemorrhage: ['50960005', 'Hemorrhage'],
  other: ['52988006', 'Lesion'],
};

/** "<organ> lesion" for each listed organ, plus organ-specific kinds ("pancreatic cyst"). */
function addOrganLesions(byId: Map<string, Concept>): void {
  const wanted: Array<[string, LesionKind, string[]]> = [
    ...ORGAN_LESIONS.map((organ): [string, LesionKind, string[]] => [organ, 'lesion', []]),
    ...ORGAN_LESION_KINDS.map(([organ, kind, synonyms]): [string, LesionKind, string[]] => [organ, kind, synonyms]),
  ];
  for (const [organId, kind, synonyms] of wanted) {
    const organ = byId.get(organId) ?? fail(`organ lesion for unknown organ "${organId}"`);
    const id = `${organId}_${kind}`;
    if (byId.has(id)) continue;
    const organName = organ.name;
    const generic = genericLesionId(kind);
    const adjectiveNames = (PATCHES[organId]?.adjectives ?? organ.adjectives).map((a) => `${a} ${generic}`);
    byId.set(
      id,
      fromNew({
        id,
        name: `${organName} ${generic}`,
        category: 'lesion',
        synonyms: [...new Set([...synonyms, ...adjectiveNames, `${generic} of ${organName}`])],
        isA: [generic],
        locatedIn: organId,
        lesionKind: kind,
        modalities: organ.modalities.length > 0 ? organ.modalities : ['CT', 'MR'],
        snomed: LESION_SNOMED[kind],
      }),
    );
  }
}

function applyPatch(concept: Concept, patch: ConceptPatch): void {
  if (patch.name) {
    if (concept.name !== patch.name) concept.synonyms.push(concept.name);
    concept.name = patch.name;
  }
  const without = (list: string[], removed: string[] | undefined) => {
    const drop = new Set((removed ?? []).map(termKey));
    return list.filter((item) => !drop.has(termKey(item)));
  };
  concept.synonyms = without([...concept.synonyms, ...(patch.addSynonyms ?? [])], patch.removeSynonyms);
  concept.abbreviations = without(
    [...concept.abbreviations, ...(patch.abbreviations ?? [])],
    patch.removeAbbreviations,
  );
  concept.adjectives = without([...concept.adjectives, ...(patch.adjectives ?? [])], patch.removeAdjectives);
  if (patch.partOf)
    concept.partOf = [...new Set([...concept.partOf.filter(() => patch.partOf?.length !== 0), ...patch.partOf])];
  if (patch.isA) concept.isA = [...new Set([...concept.isA, ...patch.isA])];
  if (patch.lesionKind) concept.lesionKind = patch.lesionKind;
  if (patch.modalities) concept.modalities = [...patch.modalities];
}

const ORDINALS = [
  '',
  'first',
  'second',
  'third',
  'fourth',
  'fifth',
  'sixth',
  'seventh',
  'eighth',
  'ninth',
  'tenth',
  'eleventh',
  'twelfth',
];
const NTH = ['', '1st', '2nd', '3rd', '4th', '5th', '6th', '7th', '8th', '9th', '10th', '11th', '12th'];
const REGION = { c: 'cervical', t: 'thoracic', l: 'lumbar', s: 'sacral' } as const;

/** Vertebrae ("L3", "third lumbar vertebra"), ribs ("left 5th rib") and liver segments. */
function addNumberedSynonyms(byId: Map<string, Concept>): void {
  for (const concept of byId.values()) {
    const vertebra = /^vertebra_([ctls])(\d+)$/.exec(concept.id);
    if (vertebra) {
      const [, letter, digits] = vertebra;
      const n = Number(digits);
      const region = REGION[letter as keyof typeof REGION];
      const label = `${letter}${n}`;
      concept.abbreviations = [label.toUpperCase()];
      concept.synonyms.push(
        `${label} vertebra`,
        `vertebra ${label}`,
        `${label} vertebral body`,
        `${region} vertebra ${n}`,
        `${region} ${n}`,
      );
      if (ORDINALS[n]) concept.synonyms.push(`${ORDINALS[n]} ${region} vertebra`, `${NTH[n]} ${region} vertebra`);
    }
    const rib = /^rib_(?:(left|right)_)?(\d+)$/.exec(concept.id);
    if (rib) {
      const [, side, digits] = rib;
      const n = Number(digits);
      const prefix = side ? `${side} ` : '';
      concept.synonyms.push(`${prefix}${NTH[n]} rib`, `${prefix}rib ${n}`, `${prefix}${ORDINALS[n]} rib`);
      if (side) concept.synonyms.push(`rib ${n} ${side}`, `${NTH[n]} rib ${side}`);
    }
    const segment = /^liver_segment_(\d)$/.exec(concept.id);
    if (segment) {
      // "S1".."S8" also name the first sacral vertebra and nothing else: keep them only with "liver".
      const n = segment[1];
      concept.abbreviations = [];
      concept.synonyms.push(`liver segment s${n}`, `couinaud ${n}`, `hepatic segment ${n}`, `segment ${n} liver`);
    }
  }
}

/** Gives every unsided concept its {left, right} pair and sided ones the Left/Right DICOM modifier. */
function linkSides(byId: Map<string, Concept>): void {
  for (const concept of byId.values()) {
    if (!concept.unsided || !concept.laterality || concept.laterality === 'bilateral') continue;
    const parent = byId.get(concept.unsided);
    if (!parent) continue;
    const pair = parent.sided ?? { left: '', right: '' };
    pair[concept.laterality] = concept.id;
    parent.sided = pair;
    if (concept.category !== parent.category && parent.category !== 'group') concept.category = parent.category;
    if (concept.lesionKind === null && parent.lesionKind) concept.lesionKind = parent.lesionKind;
  }
  for (const concept of byId.values()) {
    if (concept.sided && (!concept.sided.left || !concept.sided.right)) concept.sided = null;
  }
}

/** Every unsided bone is a bone, so "femur lesion" finds the bone lesion concept. */
function linkBonesToBone(byId: Map<string, Concept>): void {
  for (const concept of byId.values()) {
    if (concept.category !== 'bone' || concept.id === 'bone' || concept.unsided || concept.isA.length > 0) continue;
    concept.isA = ['bone'];
  }
}

function dropDanglingLinks(concept: Concept, byId: Map<string, Concept>): void {
  concept.isA = concept.isA.filter((id) => byId.has(id) && id !== concept.id);
  concept.partOf = concept.partOf.filter((id) => byId.has(id) && id !== concept.id);
  if (concept.locatedIn && !byId.has(concept.locatedIn)) concept.locatedIn = null;
  if (concept.unsided && !byId.has(concept.unsided)) concept.unsided = null;
}

/** Removes junk and duplicate synonyms; a synonym that equals the name or an abbreviation goes. */
function cleanTerms(concept: Concept): void {
  const nameKey = termKey(concept.name);
  const seen = new Set([nameKey]);
  concept.synonyms = concept.synonyms.filter((synonym) => {
    const key = termKey(synonym);
    if (!key || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  concept.abbreviations = [...new Set(concept.abbreviations.filter((a) => a.trim().length > 0))];
  concept.adjectives = [...new Set(concept.adjectives.map((a) => a.toLowerCase()))];
  concept.modalities = [...new Set(concept.modalities)];
}

/**
 * A term shared by several concepts is kept only where it is the preferred name, or on the unsided
 * concept when its own sides share it ("TMJ", "SMG"); what remains shared is reported and becomes
 * an ambiguous match at run time.
 */
function resolveCollisions(concepts: Concept[]): void {
  const byKey = new Map<string, Concept[]>();
  const nameOwner = new Map<string, Concept>();
  for (const concept of concepts) {
    nameOwner.set(termKey(concept.name), concept);
    for (const term of [...concept.synonyms, ...concept.abbreviations]) {
      const key = termKey(term);
      byKey.set(key, [...(byKey.get(key) ?? []), concept]);
    }
  }
  for (const concept of concepts) {
    const keep = (term: string) => {
      const key = termKey(term);
      const owner = nameOwner.get(key);
      if (owner && owner !== concept) return false;
      const sharers = byKey.get(key) ?? [];
      if (concept.unsided && sharers.some((s) => s.id === concept.unsided)) return false;
      return true;
    };
    concept.synonyms = concept.synonyms.filter(keep);
    concept.abbreviations = concept.abbreviations.filter(keep);
  }
}

function reportCollisions(vocab: Vocabulary, concepts: Concept[]): void {
  const keys = new Set(concepts.flatMap((c) => [c.name, ...c.synonyms, ...c.abbreviations].map(termKey)));
  const shared = [...keys].filter((key) => new Set(vocab.lookup(key).map((e) => e.conceptId)).size > 1);
  if (shared.length > 0) {
    console.log(`${shared.length} terms name several concepts (ambiguous at run time):`);
    for (const key of shared.slice(0, 200))
      console.log(
        `  "${key}": ${vocab
          .lookup(key)
          .map((e) => e.conceptId)
          .join(', ')}`,
      );
  }
}

/** DICOM SEG codes for concepts the draft left without them, and sides/locations made explicit. */
function completeDicom(concept: Concept, byId: Map<string, Concept>): void {
  const isLesion = concept.category === 'lesion';
  const category = isLesion ? MORPHOLOGY : concept.category === 'device' ? PHYSICAL_OBJECT : ANATOMY;
  if (!concept.dicom && concept.snomed) {
    concept.dicom = { category, type: { ...concept.snomed }, typeModifier: null, anatomicRegion: null };
  }
  if (!concept.dicom) return;
  const dicom: DicomSegCodes = concept.dicom;
  if (concept.laterality === 'left' || concept.laterality === 'right') {
    if (isLesion) return;
    dicom.typeModifier = concept.laterality === 'left' ? LEFT : RIGHT;
  }
  if (isLesion && !dicom.anatomicRegion && concept.locatedIn) {
    const organ = byId.get(concept.locatedIn);
    if (organ?.snomed) dicom.anatomicRegion = { ...organ.snomed };
  }
}

// ---------------------------------------------------------------- colours

/**
 * Established colour tables, surest match first (ProposedColour.rank): TotalSegmentator's own colour
 * for its class name (SlicerTotalSegmentator's mapping table, Apache-2.0), then by SNOMED type and
 * modifier the TotalSegmentator terminology (Apache-2.0), 3D Slicer's General Anatomy list (dcmqi,
 * BSD-3-Clause) and the DICOM master list, then FreeSurfer's colour LUT for aseg structures, and last
 * any of those tables by type code alone. Rows without a colour are skipped (an empty cell once read as
 * 0 and made 244 concepts black); the final choice, visible and distinct from touching structures, is
 * assignColours's.
 */
interface ColourTables {
  byTotalSegmentatorName: Map<string, Rgb>;
  byCode: Array<Map<string, Rgb>>;
  byFreeSurferName: Map<string, Rgb>;
}

type Rgb = [number, number, number];

function readColourTables(shared: string): ColourTables {
  const sources = join(shared, 'vocab/sources');
  const byTotalSegmentatorName = new Map<string, Rgb>();
  const csv = parseCsv(
    readFileSync(join(sources, 'slicer_totalsegmentator/totalsegmentator_snomed_mapping.csv'), 'utf8'),
  );
  const header = csv[0];
  const column = (name: string) => header.indexOf(name);
  for (const row of csv.slice(1)) {
    const rgb = rgbOf([row[column('Color_R')], row[column('Color_G')], row[column('Color_B')]]);
    if (rgb) byTotalSegmentatorName.set(row[column('Name')], rgb);
  }
  const byCode = [
    'slicer_totalsegmentator/SegmentationCategoryTypeModifier-TotalSegmentator.term.json',
    'dicom_seg_terminology/SegmentationCategoryTypeModifier-SlicerGeneralAnatomy.json',
    'dicom_seg_terminology/SegmentationCategoryTypeModifier-DICOM-Master.json',
  ].map((file) => terminologyColours(join(sources, file)));
  const lut = readJson<{ entries: Array<{ name: string; rgba: number[] }> }>(
    join(sources, 'brain_atlases/FreeSurferColorLUT.json'),
  );
  const byFreeSurferName = new Map<string, Rgb>();
  for (const entry of lut.entries) {
    const rgb = rgbOf(entry.rgba.slice(0, 3));
    if (rgb && entry.name !== 'Unknown') byFreeSurferName.set(entry.name.toLowerCase(), rgb);
  }
  return { byTotalSegmentatorName, byCode, byFreeSurferName };
}

interface TerminologyType {
  CodeValue: string;
  recommendedDisplayRGBValue?: number[];
  Modifier?: Array<{ CodeValue: string; recommendedDisplayRGBValue?: number[] }>;
}

/** A dcmqi segment-context file's colours, keyed "type|modifier" ("64033007|7771000", "10200004|"). */
function terminologyColours(path: string): Map<string, Rgb> {
  const file = readJson<{ SegmentationCodes: { Category: Array<{ Type?: TerminologyType[] }> } }>(path);
  const colours = new Map<string, Rgb>();
  for (const category of file.SegmentationCodes.Category) {
    for (const type of category.Type ?? []) {
      const own = rgbOf(type.recommendedDisplayRGBValue);
      if (own && !colours.has(`${type.CodeValue}|`)) colours.set(`${type.CodeValue}|`, own);
      for (const modifier of type.Modifier ?? []) {
        const rgb = rgbOf(modifier.recommendedDisplayRGBValue);
        if (!rgb) continue;
        colours.set(`${type.CodeValue}|${modifier.CodeValue}`, rgb);
        if (!colours.has(`${type.CodeValue}|`)) colours.set(`${type.CodeValue}|`, rgb);
      }
    }
  }
  return colours;
}

/** Three whole numbers 0..255 from table cells, or undefined for a missing or empty colour. */
function rgbOf(cells: ReadonlyArray<string | number> | undefined): Rgb | undefined {
  if (!cells || cells.length < 3) return undefined;
  if (cells.some((cell) => typeof cell === 'string' && cell.trim() === '')) return undefined;
  const rgb = cells.slice(0, 3).map(Number);
  return rgb.every((v) => Number.isInteger(v) && v >= 0 && v <= 255) ? (rgb as Rgb) : undefined;
}

/** The established tables' colour for a concept, with the rank of the match; undefined when none has one. */
function proposeColour(concept: Concept, tables: ColourTables): ProposedColour | undefined {
  for (const [source, names] of Object.entries(concept.sourceLabels)) {
    if (!source.startsWith('TotalSegmentator')) continue;
    for (const name of names) {
      const colour = tables.byTotalSegmentatorName.get(name);
      if (colour) return { colour, rank: 0 };
    }
  }
  const type = concept.dicom?.type.code ?? concept.snomed?.code;
  const modifier = concept.dicom?.typeModifier?.code ?? '';
  if (type) {
    for (const [n, table] of tables.byCode.entries()) {
      const colour = table.get(`${type}|${modifier}`);
      if (colour) return { colour, rank: 1 + n };
    }
  }
  for (const name of concept.sourceLabels['FreeSurfer-aseg'] ?? []) {
    const colour = tables.byFreeSurferName.get(name.toLowerCase());
    if (colour) return { colour, rank: 4 };
  }
  if (type && modifier) {
    for (const table of tables.byCode) {
      const colour = table.get(`${type}|`);
      if (colour) return { colour, rank: 5 };
    }
  }
  return undefined;
}

/** Colours for every concept: the tables' where visible and distinct from touching structures (src/vocab/colours.ts). */
function colourConcepts(concepts: Concept[], shared: string): void {
  const tables = readColourTables(shared);
  const proposed = new Map<string, ProposedColour>();
  for (const concept of concepts) {
    const proposal = proposeColour(concept, tables);
    if (proposal) proposed.set(concept.id, proposal);
  }
  const pairs = touchingPairs(concepts, readLabelNeighbours());
  const colours = assignColours(
    concepts.map((c) => c.id),
    proposed,
    pairs,
  );
  let kept = 0;
  for (const concept of concepts) {
    concept.color = colours.get(concept.id) ?? fail(`no colour for ${concept.id}`);
    const table = proposed.get(concept.id)?.colour;
    if (table && table.every((v, n) => v === concept.color[n])) kept++;
  }
  const problems = colourProblems(new Map(concepts.map((c) => [c.id, c.color])), pairs);
  if (problems.length > 0)
    throw new Error(
      `colours break the rule:\n  ${problems.map((p) => p.problem + ': ' + p.ids.join(', ')).join('\n  ')}`,
    );
  console.log(
    `colours: ${kept} from tables as they are, ${proposed.size - kept} moved off a touching structure's or invisible colour, ` +
      `${concepts.length - proposed.size} generated; ${pairs.length} touching pairs`,
  );
}

/** data/label-neighbours.json's pairs (scripts/label-neighbours.ts); none when it was not written yet. */
function readLabelNeighbours(): LabelNeighbour[] {
  const path = join(DATA_DIR, 'label-neighbours.json');
  return existsSync(path) ? loadLabelNeighbours(path) : [];
}

// ---------------------------------------------------------------- dataset labels

function buildDatasetLabels(shared: string, vocab: Vocabulary): DatasetLabelFile {
  const datasets: Record<string, DatasetLabels> = {};
  const problems: string[] = [];
  const labelDir = join(shared, 'data', 'label-names');
  for (const file of readdirSync(labelDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const raw = readJson<{ note?: string; labels: Record<string, string> }>(join(labelDir, file));
    const name = basename(file, '.json');
    datasets[name] = mapDataset(name, raw.note ?? '', raw.labels, vocab, problems);
  }
  for (const extra of EXTRA_DATASETS) {
    const labels = extra.labels ?? stemsIn(join(shared, 'data', extra.folder ?? ''));
    datasets[extra.name] = mapDataset(extra.name, extra.description, labels, vocab, problems);
  }
  if (problems.length > 0) throw new Error(`dataset labels without a concept:\n  ${problems.join('\n  ')}`);
  return { version: 1, datasets };
}

/** One label per mask file ("Parotid-Lt.nrrd" -> "Parotid-Lt"), for datasets stored that way. */
function stemsIn(folder: string): Record<string, string> {
  if (!existsSync(folder)) return {};
  let dir = folder;
  const first = readdirSync(dir).find((entry) => /^\d|^TCGA/.test(entry) && !entry.includes('.'));
  if (first) dir = join(folder, first);
  const stems = readdirSync(dir)
    .filter((f) => /\.(nrrd|nii\.gz)$/.test(f) && !/^(ct_cropped|T\d+_|organ_)/.test(f))
    .map((f) => f.replace(/\.(nrrd|nii\.gz)$/, ''))
    .sort();
  return Object.fromEntries(stems.map((s) => [s, s]));
}

function mapDataset(
  name: string,
  description: string,
  labels: Record<string, string>,
  vocab: Vocabulary,
  problems: string[],
): DatasetLabels {
  const mapped: Record<string, DatasetLabel> = {};
  for (const [value, labelName] of Object.entries(labels)) {
    const result = mapLabel(labelName, vocab);
    if (!result) problems.push(`${name} ${value} "${labelName}"`);
    else mapped[value] = { name: labelName, ...result };
  }
  return { description, labels: mapped };
}

function mapLabel(label: string, vocab: Vocabulary): Omit<DatasetLabel, 'name'> | undefined {
  const override = LABEL_OVERRIDES[label];
  if (override !== undefined) return override;
  if (/^(background|unknown|unclassified|ctx_[lr]h_unknown|ctx-[lr]h-unknown)$/i.test(label)) {
    return { concept: null, relation: 'background' };
  }
  const { side, text } = atlasName(label);
  const exact = resolvePrompt(`${side ?? ''} ${text}`, vocab, { fuzzy: false });
  if (exact.status === 'resolved') return { concept: exact.concepts[0].id, relation: 'exact' };
  for (const rule of ATLAS_REGION_RULES) {
    if (!rule.pattern.test(label)) continue;
    const concept = vocab.require(rule.concept);
    const sidedId = side && concept.sided ? concept.sided[side] : concept.id;
    return { concept: sidedId, relation: 'part_of' };
  }
  return undefined;
}

/** Atlas label spellings -> words: "ctx_lh_G_front_sup" / "Frontal_Sup_L" / "Left-Caudate". */
function atlasName(label: string): { side?: 'left' | 'right'; text: string } {
  let text = label;
  let side: 'left' | 'right' | undefined;
  const hemisphere = /^ctx[_-]([lr])h[_-]/i.exec(text);
  if (hemisphere) {
    side = hemisphere[1].toLowerCase() === 'l' ? 'left' : 'right';
    text = text.slice(hemisphere[0].length);
  }
  const suffix = /[_-]([LR])$/.exec(text);
  if (suffix) {
    side = suffix[1] === 'L' ? 'left' : 'right';
    text = text.slice(0, -2);
  }
  text = text.replace(/-\d+$/, '').replace(/[_-]+/g, ' ');
  return { side, text };
}

// ---------------------------------------------------------------- files

function readSources(shared: string): string[] {
  const manifest = readJson<Array<{ file: string; repo: string; commit: string; license: string }>>(
    join(shared, 'vocab/sources/MANIFEST.json'),
  );
  return manifest.map((m) => `${m.repo}@${m.commit.slice(0, 12)} ${m.file.replace(/^files\//, '')} (${m.license})`);
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 1) + '\n');
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

function fail(message: string): never {
  throw new Error(message);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
