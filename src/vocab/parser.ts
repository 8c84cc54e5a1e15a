/**
 * Free text -> vocabulary concepts.
 *
 * A text holds one or more prompts ("liver, spleen and both kidneys"). Each prompt is matched
 * exactly first (names, synonyms, abbreviations, after normalising case, spelling and plurals),
 * then by taking it apart (side words, lesion words, modality hints, filler words), and only then
 * with spelling correction. Anything left that names nothing is `unknown`: a prompt is never
 * mapped to the nearest concept just because one is near.
 */
import { editDistance, normalizeTokens } from './normalize.js';
import type { Concept, ConceptRef, Laterality, LesionKind, MatchKind, Modality, ParsedPrompt } from './types.js';
import { genericLesionId } from './types.js';
import type { TermEntry, Vocabulary } from './vocabulary.js';

export interface ParseOptions {
  /** Correct misspellings (default true). */
  fuzzy?: boolean;
  /** How many suggestions an unknown or ambiguous prompt carries (default 3). */
  maxSuggestions?: number;
}

/** Words that ask for something rather than name it; dropped from every prompt. */
const REQUEST_WORDS = new Set(
  (
    'please pls segment segmentation mask label contour outline delineate find show me highlight detect locate ' +
    'identify extract give get i want need would like to can could you my this that these those image scan ' +
    'volume study in on at from for within inside using with via and or also sided'
  )
    .split(' ')
    .map((w) => normalizeTokens(w)[0] ?? w),
);

/** Words that qualify a structure without changing it; dropped only when the exact phrase fails. */
const SOFT_WORDS = new Set([
  'whole',
  'entire',
  'all',
  'total',
  'region',
  'area',
  'organ',
  'structure',
  'anatomy',
  'complete',
  'full',
]);

const SIDE_WORDS: Readonly<Record<string, Laterality>> = {
  left: 'left',
  lt: 'left',
  l: 'left',
  right: 'right',
  rt: 'right',
  r: 'right',
  both: 'bilateral',
  bilateral: 'bilateral',
  bilaterally: 'bilateral',
  bilat: 'bilateral',
};

const MODALITY_WORDS: Readonly<Record<string, Modality>> = {
  ct: 'CT',
  cta: 'CT',
  cect: 'CT',
  ncct: 'CT',
  mri: 'MR',
  mr: 'MR',
  mra: 'MR',
  t1: 'MR',
  t1w: 'MR',
  t2: 'MR',
  t2w: 'MR',
  t1c: 'MR',
  t1ce: 'MR',
  t1gd: 'MR',
  flair: 'MR',
  dwi: 'MR',
  adc: 'MR',
  pet: 'PET',
};

/** Words that follow a modality word and belong to it ("T1-weighted image"). */
const MODALITY_TAIL = new Set([
  'weighted',
  'scan',
  'image',
  'imaging',
  'sequence',
  'series',
  'study',
  'contrast',
  'enhanced',
]);

const LESION_WORDS: Readonly<Record<string, LesionKind>> = {
  lesion: 'lesion',
  abnormality: 'lesion',
  tumor: 'tumor',
  mass: 'tumor',
  cancer: 'tumor',
  carcinoma: 'tumor',
  neoplasm: 'tumor',
  malignancy: 'tumor',
  cyst: 'cyst',
  nodule: 'nodule',
  metastasis: 'metastasis',
  hemorrhage: 'hemorrhage',
  bleed: 'hemorrhage',
  hematoma: 'hemorrhage',
};

const CONFIDENCE: Readonly<Record<'name' | 'synonym' | 'abbreviation' | 'adjective', number>> = {
  name: 1,
  synonym: 0.97,
  abbreviation: 0.92,
  adjective: 0.9,
};

/** Internal result of matching one token list. */
interface Match {
  ids: string[];
  ambiguous: boolean;
  kind: MatchKind;
  confidence: number;
  laterality: Laterality | null;
  location?: string;
  notes: string[];
}

/** Splits a text into prompts and resolves each. */
export function parsePrompts(text: string, vocab: Vocabulary, options: ParseOptions = {}): ParsedPrompt[] {
  const pieces = mergePieces(splitPieces(text), vocab);
  return pieces.map((piece) => resolvePrompt(piece, vocab, options));
}

/** Resolves one prompt (no splitting on "and" or commas). */
export function resolvePrompt(text: string, vocab: Vocabulary, options: ParseOptions = {}): ParsedPrompt {
  const tokens = normalizeTokens(text);
  // "T2 vertebra" is a name; only when the whole phrase names nothing are modality words taken out.
  const direct = matchTokens(tokens, vocab);
  const { rest, modality } = direct ? { rest: tokens, modality: undefined } : extractModality(tokens);
  const exact = direct ?? matchTokens(rest, vocab);
  const match = exact ?? (options.fuzzy === false ? undefined : matchWithCorrection(rest, vocab));
  const prompt = match
    ? toParsedPrompt(text.trim(), match, vocab, options)
    : unknownPrompt(text.trim(), rest, vocab, options);
  if (modality) prompt.modalityHint = modality;
  return prompt;
}

// ---------------------------------------------------------------- splitting a text into prompts

interface Piece {
  text: string;
}

const SEPARATOR = /\s*(?:[,;\n]+|\band\/or\b|\b(?:and|or|plus|as well as|along with|together with)\b|[&+|])\s*/gi;

function splitPieces(text: string): Piece[] {
  return text
    .split(SEPARATOR)
    .map((part) => part.trim().replace(/^[.!?:\s]+|[.!?:\s]+$/g, ''))
    .filter((part) => part.length > 0)
    .map((part) => ({ text: part }));
}

/**
 * Rejoins pieces that the splitter cut wrongly: side words alone ("left and right kidney") go with
 * the next piece, and names that contain "and" ("portal vein and splenic vein") are kept whole.
 */
function mergePieces(pieces: Piece[], vocab: Vocabulary): string[] {
  const merged: string[] = [];
  let pendingSides: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const longest = longestNamedRun(pieces, i, vocab);
    if (longest > i) {
      merged.push(
        withSides(
          pendingSides,
          pieces
            .slice(i, longest + 1)
            .map((p) => p.text)
            .join(' and '),
        ),
      );
      pendingSides = [];
      i = longest;
      continue;
    }
    const tokens = normalizeTokens(pieces[i].text);
    if (tokens.length > 0 && tokens.every((t) => SIDE_WORDS[t] !== undefined) && i + 1 < pieces.length) {
      pendingSides.push(pieces[i].text);
      continue;
    }
    const distributed = distributeModifier(pieces[i], pieces[i + 1], vocab);
    if (distributed) {
      merged.push(withSides(pendingSides, distributed));
      pendingSides = [];
      continue;
    }
    merged.push(withSides(pendingSides, pieces[i].text));
    pendingSides = [];
  }
  if (pendingSides.length > 0) merged.push(pendingSides.join(' and '));
  return merged;
}

function withSides(sides: string[], text: string): string {
  return sides.length === 0 ? text : `${sides.join(' and ')} and ${text}`;
}

/**
 * "anterior and posterior hippocampus": a lone modifier that names nothing borrows the noun of the
 * next prompt when the two together are a name.
 */
function distributeModifier(piece: Piece, next: Piece | undefined, vocab: Vocabulary): string | undefined {
  if (!next) return undefined;
  const tokens = normalizeTokens(piece.text);
  const nextTokens = normalizeTokens(next.text);
  if (tokens.length !== 1 || nextTokens.length < 2 || vocab.lookup(tokens[0]).length > 0) return undefined;
  const noun = next.text.trim().split(/\s+/).slice(1).join(' ');
  const candidate = `${piece.text} ${noun}`;
  return vocab.lookup(normalizeTokens(candidate).join(' ')).length > 0 ? candidate : undefined;
}

/** The last index j > start such that pieces start..j joined by "and" is one exact name, else start. */
function longestNamedRun(pieces: Piece[], start: number, vocab: Vocabulary): number {
  for (let end = Math.min(pieces.length - 1, start + 3); end > start; end--) {
    const joined = pieces
      .slice(start, end + 1)
      .map((p) => p.text)
      .join(' and ');
    if (vocab.lookup(normalizeTokens(joined).join(' ')).length > 0) return end;
  }
  return start;
}

// ---------------------------------------------------------------- modality hints

function extractModality(tokens: string[]): { rest: string[]; modality?: Modality } {
  // A lone "T1" or "C2"-like token is a vertebra, not a modality: only strip when words remain.
  const index = tokens.findIndex((t) => MODALITY_WORDS[t] !== undefined);
  if (index < 0) return { rest: tokens };
  let end = index + 1;
  while (end < tokens.length && MODALITY_TAIL.has(tokens[end])) end++;
  const rest = [...tokens.slice(0, index), ...tokens.slice(end)];
  if (!rest.some((t) => !REQUEST_WORDS.has(t))) return { rest: tokens };
  const { rest: further } = extractModality(rest);
  return { rest: further, modality: MODALITY_WORDS[tokens[index]] };
}

// ---------------------------------------------------------------- exact matching

/** Tries the phrase as typed, then without request words, then without soft words. */
function matchTokens(tokens: string[], vocab: Vocabulary): Match | undefined {
  if (tokens.length === 0) return undefined;
  const content = tokens.filter((t) => !REQUEST_WORDS.has(t));
  const attempts = [tokens, content, content.filter((t) => !SOFT_WORDS.has(t))];
  let previousKey = '';
  for (const attempt of attempts) {
    const key = attempt.join(' ');
    if (!key || key === previousKey) continue;
    previousKey = key;
    const match = matchPhrase(attempt, vocab);
    if (match) return match;
  }
  return undefined;
}

/** One phrase: as a whole, then with its side words taken out, then as a lesion phrase. */
function matchPhrase(tokens: string[], vocab: Vocabulary): Match | undefined {
  const whole = matchCore(tokens, vocab);
  if (whole) return whole;
  const sides = tokens.filter((t) => SIDE_WORDS[t] !== undefined);
  const core = tokens.filter((t) => SIDE_WORDS[t] === undefined);
  if (core.length === 0) return undefined;
  const laterality = combineSides(sides.map((t) => SIDE_WORDS[t] as Laterality));
  if (sides.length > 0) {
    const coreMatch = matchCore(core, vocab);
    if (coreMatch) return applySide(coreMatch, laterality, vocab);
  }
  return matchLesion(core, laterality, vocab);
}

function combineSides(sides: Laterality[]): Laterality | null {
  if (sides.length === 0) return null;
  if (sides.includes('bilateral')) return 'bilateral';
  return sides.every((s) => s === sides[0]) ? sides[0] : 'bilateral';
}

/** A phrase that is a term, an ambiguous word, or an adjective plus a term ("hepatic segment 4"). */
function matchCore(tokens: string[], vocab: Vocabulary): Match | undefined {
  const key = tokens.join(' ');
  const ambiguous = vocab.ambiguousTerm(key);
  if (ambiguous) {
    return {
      ids: ambiguous.candidates,
      ambiguous: true,
      kind: 'synonym',
      confidence: 0.5,
      laterality: null,
      notes: [ambiguous.note],
    };
  }
  const entries = vocab.lookup(key);
  if (entries.length > 0) return fromEntries(entries, vocab);
  return matchAdjectivePhrase(tokens, vocab);
}

function fromEntries(entries: readonly TermEntry[], vocab: Vocabulary): Match {
  // A preferred name outranks another concept's synonym; otherwise several concepts are ambiguous.
  const names = entries.filter((e) => e.kind === 'name');
  const chosen = names.length === 1 ? names : dropSidedDuplicates(entries, vocab);
  const first = chosen[0];
  const laterality = chosen.length === 1 ? vocab.require(first.conceptId).laterality : null;
  if (chosen.length > 1) {
    return {
      ids: chosen.map((e) => e.conceptId),
      ambiguous: true,
      kind: first.kind === 'abbreviation' ? 'abbreviation' : 'synonym',
      confidence: 0.5,
      laterality: null,
      notes: ['this term names several concepts'],
    };
  }
  return {
    ids: [first.conceptId],
    ambiguous: false,
    kind: first.kind === 'name' ? 'exact' : first.kind,
    confidence: CONFIDENCE[first.kind],
    laterality,
    notes: [],
  };
}

/** "RCC"-like abbreviations shared by a concept and its sides mean the unsided one. */
function dropSidedDuplicates(entries: readonly TermEntry[], vocab: Vocabulary): TermEntry[] {
  const ids = new Set(entries.map((e) => e.conceptId));
  const kept = entries.filter((e) => {
    const unsided = vocab.require(e.conceptId).unsided;
    return !(unsided && ids.has(unsided));
  });
  return kept.length > 0 ? kept : [...entries];
}

/** "hepatic segment 4" -> "liver segment 4": an adjective standing for its organ's name. */
function matchAdjectivePhrase(tokens: string[], vocab: Vocabulary): Match | undefined {
  if (tokens.length < 2) return undefined;
  for (let i = 0; i < tokens.length; i++) {
    for (const organId of vocab.lookupAdjective(tokens[i])) {
      const organTokens = normalizeTokens(vocab.require(organId).name);
      const rest = [...tokens.slice(0, i), ...tokens.slice(i + 1)];
      for (const candidate of [
        [...organTokens, ...rest],
        [...rest, ...organTokens],
      ]) {
        const entries = vocab.lookup(candidate.join(' '));
        if (entries.length === 0) continue;
        const match = fromEntries(entries, vocab);
        return { ...match, kind: 'adjective', confidence: Math.min(match.confidence, CONFIDENCE.adjective) };
      }
    }
  }
  return undefined;
}

/** Left/right pick a sided variant; "both" keeps the unsided concept (which has both as parts). */
function applySide(match: Match, laterality: Laterality | null, vocab: Vocabulary): Match {
  if (!laterality) return match;
  if (match.ambiguous) {
    const ids = match.ids.map((id) => sidedId(vocab.require(id), laterality) ?? id);
    return { ...match, ids, laterality };
  }
  const concept = vocab.require(match.ids[0]);
  const sided = sidedId(concept, laterality);
  if (sided) return { ...match, ids: [sided], laterality };
  if (concept.laterality === laterality) return match;
  const base = concept.unsided ? vocab.require(concept.unsided) : concept;
  if (laterality === 'bilateral' && base.sided) return { ...match, ids: [base.id], laterality };
  return {
    ...match,
    confidence: match.confidence * 0.85,
    laterality: concept.laterality,
    notes: [...match.notes, `"${laterality}" ignored: ${concept.name} has no ${laterality} variant`],
  };
}

function sidedId(concept: Concept, laterality: Laterality): string | undefined {
  if (laterality === 'bilateral') return concept.sided ? concept.id : undefined;
  return concept.sided?.[laterality];
}

// ---------------------------------------------------------------- lesion phrases

/** "renal cyst", "tumour of the left kidney", "hepatic lesion": a lesion concept in an organ. */
function matchLesion(core: string[], laterality: Laterality | null, vocab: Vocabulary): Match | undefined {
  const lesionIndex = core.findIndex((t) => LESION_WORDS[t] !== undefined);
  if (lesionIndex < 0) return undefined;
  const kind = LESION_WORDS[core[lesionIndex]] as LesionKind;
  const organTokens = core.filter((_, i) => i !== lesionIndex);
  if (organTokens.length === 0) return undefined;
  const organ = matchOrgan(organTokens, vocab);
  if (!organ || organ.ambiguous) return undefined;
  const organConcept = vocab.require(organ.ids[0]);
  const located = laterality ? (sidedId(organConcept, laterality) ?? organConcept.id) : organConcept.id;
  const lesion = findLesionConcept(vocab.require(located), kind, vocab);
  const lesionConcept = vocab.require(lesion.id);
  const side = laterality ?? vocab.require(located).laterality;
  const finalId = side && side !== 'bilateral' ? (lesionConcept.sided?.[side] ?? lesion.id) : lesion.id;
  return {
    ids: [finalId],
    ambiguous: false,
    kind: 'lesion',
    confidence: Math.min(0.95, organ.confidence) * (lesion.generic ? 0.9 : 1),
    laterality: side,
    location: located,
    notes: lesion.generic ? [`no ${kind} concept for ${organConcept.name}; using the generic one`] : [],
  };
}

/** The organ part of a lesion phrase: a term ("kidney") or an adjective ("renal"). */
function matchOrgan(tokens: string[], vocab: Vocabulary): Match | undefined {
  const direct = matchCore(tokens, vocab);
  if (direct) return direct;
  if (tokens.length === 1) {
    const organs = vocab.lookupAdjective(tokens[0]);
    if (organs.length === 1) {
      return {
        ids: [organs[0]],
        ambiguous: false,
        kind: 'adjective',
        confidence: CONFIDENCE.adjective,
        laterality: null,
        notes: [],
      };
    }
  }
  return undefined;
}

/** The closest lesion concept of a kind: in the organ, then in the organs it belongs to, then generic. */
function findLesionConcept(organ: Concept, kind: LesionKind, vocab: Vocabulary): { id: string; generic: boolean } {
  const scopes = [organ, ...vocab.ancestors(organ.id)];
  for (const scope of scopes) {
    const lesions = vocab.lesionsIn(scope.id).filter((l) => !l.unsided);
    if (lesions.length === 0) continue;
    const sameKind = lesions.find((l) => l.lesionKind === kind);
    if (sameKind) return { id: sameKind.id, generic: false };
    const general =
      lesions.find((l) => l.lesionKind === 'lesion') ??
      (kind === 'lesion' ? lesions.find((l) => l.lesionKind === 'tumor') : undefined);
    if (general) return { id: general.id, generic: false };
  }
  return { id: genericLesionId(kind), generic: true };
}

// ---------------------------------------------------------------- spelling correction

interface Correction {
  tokens: string[];
  edits: number;
}

/**
 * Replaces each unknown token of five letters or more by the single known token within one edit
 * (two for nine letters or more) that starts with the same letter, then matches exactly again.
 * Short tokens and tokens with several equally close candidates are left alone: "train" must not
 * become "brain", and "banana" stays a banana.
 */
function matchWithCorrection(tokens: string[], vocab: Vocabulary): Match | undefined {
  const correction = correctTokens(tokens, vocab);
  if (!correction || correction.edits === 0) return undefined;
  const match = matchTokens(correction.tokens, vocab);
  if (!match) return undefined;
  const penalty = Math.max(0.4, 1 - 0.12 * correction.edits);
  return {
    ...match,
    kind: 'fuzzy',
    confidence: Math.min(0.85, match.confidence * penalty),
    notes: [...match.notes, `read as "${correction.tokens.join(' ')}"`],
  };
}

function correctTokens(tokens: string[], vocab: Vocabulary): Correction | undefined {
  let edits = 0;
  const corrected: string[] = [];
  for (const token of tokens) {
    if (
      vocab.hasToken(token) ||
      REQUEST_WORDS.has(token) ||
      SOFT_WORDS.has(token) ||
      SIDE_WORDS[token] ||
      MODALITY_WORDS[token] ||
      LESION_WORDS[token]
    ) {
      corrected.push(token);
      continue;
    }
    const best = closestToken(token, vocab);
    if (!best) return undefined;
    corrected.push(best.token);
    edits += best.distance;
  }
  return { tokens: corrected, edits };
}

function closestToken(token: string, vocab: Vocabulary): { token: string; distance: number } | undefined {
  if (token.length < 5 || /\d/.test(token)) return undefined;
  const limit = token.length >= 9 ? 2 : 1;
  let best: { token: string; distance: number } | undefined;
  let tie = false;
  for (let length = token.length - limit; length <= token.length + limit; length++) {
    for (const candidate of vocab.tokensOfLength(length)) {
      if (candidate[0] !== token[0] && !(candidate[0] === token[1] && candidate[1] === token[0])) continue;
      const distance = editDistance(token, candidate, limit);
      if (distance > limit || isShortSubstitution(token, candidate)) continue;
      if (!best || distance < best.distance) {
        best = { token: candidate, distance };
        tie = false;
      } else if (distance === best.distance && candidate !== best.token) {
        tie = true;
      }
    }
  }
  return best && !tie ? best : undefined;
}

/**
 * In short words one changed letter is more often another word than a typo ("lever", "liver"):
 * short tokens may only gain, lose or swap letters.
 */
function isShortSubstitution(token: string, candidate: string): boolean {
  if (token.length >= 7 || token.length !== candidate.length) return false;
  const diffs: number[] = [];
  for (let i = 0; i < token.length; i++) if (token[i] !== candidate[i]) diffs.push(i);
  const swapped =
    diffs.length === 2 &&
    diffs[1] === diffs[0] + 1 &&
    token[diffs[0]] === candidate[diffs[1]] &&
    token[diffs[1]] === candidate[diffs[0]];
  return !swapped;
}

// ---------------------------------------------------------------- results

function toParsedPrompt(text: string, match: Match, vocab: Vocabulary, options: ParseOptions): ParsedPrompt {
  const concepts: ConceptRef[] = match.ids.map((id) => vocab.ref(id));
  const prompt: ParsedPrompt = {
    text,
    status: match.ambiguous ? 'ambiguous' : 'resolved',
    concepts,
    confidence: round(match.confidence),
    matchedBy: match.kind,
    laterality: match.laterality,
    suggestions: match.ambiguous ? concepts.map((c) => c.name).slice(0, options.maxSuggestions ?? 6) : [],
    notes: match.notes,
  };
  if (match.location) prompt.location = vocab.ref(match.location);
  return prompt;
}

function unknownPrompt(text: string, tokens: string[], vocab: Vocabulary, options: ParseOptions): ParsedPrompt {
  return {
    text,
    status: 'unknown',
    concepts: [],
    confidence: 0,
    matchedBy: 'none',
    laterality: null,
    suggestions: suggest(tokens, vocab, options.maxSuggestions ?? 3),
    notes: [],
  };
}

/** Names that share a word with the prompt (spelling forgiven), for a person to choose from. */
function suggest(tokens: string[], vocab: Vocabulary, limit: number): string[] {
  const content = tokens.filter(
    (t) => !REQUEST_WORDS.has(t) && !SOFT_WORDS.has(t) && SIDE_WORDS[t] === undefined && t.length >= 3,
  );
  if (content.length === 0 || limit <= 0) return [];
  const words = content
    .map((t) => (vocab.hasToken(t) ? t : (closestToken(t, vocab)?.token ?? t)))
    .filter((t) => vocab.hasToken(t));
  if (words.length === 0) return [];
  return vocab
    .search(words.join(' '), limit * 3)
    .filter((c) => !c.unsided)
    .slice(0, limit)
    .map((c) => c.name);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
