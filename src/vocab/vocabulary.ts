import { normalizeTokens, termKey } from './normalize.js';
import {
  CATEGORIES,
  LESION_KINDS,
  type AmbiguousTerm,
  type Category,
  type Concept,
  type ConceptRef,
  type Modality,
  type VocabularyFile,
} from './types.js';

/** How a term names its concept; decides the confidence of a match. */
export type TermKind = 'name' | 'synonym' | 'abbreviation';

export interface TermEntry {
  conceptId: string;
  kind: TermKind;
}

export class Vocabulary {
  readonly concepts: readonly Concept[];
  readonly sources: readonly string[];
  private readonly byId = new Map<string, Concept>();
  private readonly terms = new Map<string, TermEntry[]>();
  private readonly adjectives = new Map<string, string[]>();
  private readonly ambiguous = new Map<string, AmbiguousTerm>();
  private readonly childIds = new Map<string, string[]>();
  private readonly lesionsByOrgan = new Map<string, Concept[]>();
  /** Every token of every term, by length, for spelling correction. */
  private readonly tokensByLength = new Map<number, string[]>();
  private readonly knownTokens = new Set<string>();

  constructor(file: VocabularyFile) {
    this.concepts = file.concepts;
    this.sources = file.sources;
    for (const concept of file.concepts) this.byId.set(concept.id, concept);
    for (const concept of file.concepts) this.indexConcept(concept);
    for (const entry of file.ambiguousTerms) this.ambiguous.set(termKey(entry.term), entry);
    for (const key of this.ambiguous.keys()) this.addTokens(key);
  }

  get size(): number {
    return this.concepts.length;
  }

  get(id: string): Concept | undefined {
    return this.byId.get(id);
  }

  /** Like get, for ids that the data guarantees (links inside the vocabulary). */
  require(id: string): Concept {
    const concept = this.byId.get(id);
    if (!concept) throw new Error(`vocabulary: no concept "${id}"`);
    return concept;
  }

  ref(id: string): ConceptRef {
    const concept = this.require(id);
    return { id, name: concept.name, laterality: concept.laterality, snomed: concept.snomed?.code ?? null };
  }

  /** Exact (normalised) term lookup. */
  lookup(key: string): readonly TermEntry[] {
    return this.terms.get(key) ?? [];
  }

  /** Concepts an adjective names ("renal" -> kidney). */
  lookupAdjective(key: string): readonly string[] {
    return this.adjectives.get(key) ?? [];
  }

  ambiguousTerm(key: string): AmbiguousTerm | undefined {
    return this.ambiguous.get(key);
  }

  hasToken(token: string): boolean {
    return this.knownTokens.has(token);
  }

  tokensOfLength(length: number): readonly string[] {
    return this.tokensByLength.get(length) ?? [];
  }

  /** Lesion concepts located in a concept (not its descendants). */
  lesionsIn(id: string): readonly Concept[] {
    return this.lesionsByOrgan.get(id) ?? [];
  }

  /** Direct children: parts (part_of), kinds (is_a) and sided variants. */
  children(id: string): Concept[] {
    return (this.childIds.get(id) ?? []).map((childId) => this.require(childId));
  }

  /** Direct parts only (part_of links and the two sides of a paired structure). */
  partsOf(id: string): Concept[] {
    const concept = this.require(id);
    const sided = concept.sided ? [concept.sided.left, concept.sided.right] : [];
    const parts = this.concepts.filter((c) => c.partOf.includes(id)).map((c) => c.id);
    return [...new Set([...sided, ...parts])].map((partId) => this.require(partId));
  }

  descendants(id: string): Concept[] {
    const seen = new Set<string>();
    const stack = [id];
    while (stack.length > 0) {
      for (const child of this.childIds.get(stack.pop() as string) ?? []) {
        if (!seen.has(child)) {
          seen.add(child);
          stack.push(child);
        }
      }
    }
    return [...seen].map((childId) => this.require(childId));
  }

  /**
   * Whether an unsided concept occurs once on each side: it has sided variants, or it is part of
   * something that does (the anterior hippocampus, part of the hippocampus). A sided concept is one object.
   */
  occursOnBothSides(id: string): boolean {
    const seen = new Set<string>();
    const paired = (conceptId: string): boolean => {
      const concept = this.require(conceptId);
      if (concept.laterality !== null) return false;
      if (concept.sided) return true;
      seen.add(conceptId);
      return concept.partOf.some((parent) => !seen.has(parent) && paired(parent));
    };
    return paired(id);
  }

  /** Ancestors by part_of, is_a and unsided links, nearest first. */
  ancestors(id: string): Concept[] {
    const seen = new Set<string>();
    const queue = [id];
    const order: string[] = [];
    while (queue.length > 0) {
      const concept = this.require(queue.shift() as string);
      const parents = [...(concept.unsided ? [concept.unsided] : []), ...concept.isA, ...concept.partOf];
      for (const parent of parents) {
        if (!seen.has(parent)) {
          seen.add(parent);
          order.push(parent);
          queue.push(parent);
        }
      }
    }
    return order.map((ancestorId) => this.require(ancestorId));
  }

  list(filter: { category?: Category; modality?: Modality } = {}): Concept[] {
    return this.concepts.filter(
      (c) =>
        (!filter.category || c.category === filter.category) &&
        (!filter.modality || c.modalities.includes(filter.modality)),
    );
  }

  /**
   * Free-text search: concepts whose id, names, synonyms or abbreviations contain every word,
   * best first (exact name, then name prefix, then shorter names).
   */
  search(words: string, limit = 20): Concept[] {
    const queryTokens = normalizeTokens(words);
    if (queryTokens.length === 0) return [];
    const scored: Array<{ concept: Concept; score: number }> = [];
    for (const [index, concept] of this.concepts.entries()) {
      const score = searchScore(this.searchTexts()[index], queryTokens);
      if (score > 0) scored.push({ concept, score });
    }
    scored.sort((a, b) => b.score - a.score || a.concept.name.length - b.concept.name.length);
    return scored.slice(0, limit).map((s) => s.concept);
  }

  private searchTextCache: SearchText[][] | undefined;

  /** Each concept's names as token lists, built on the first search (loading stays fast). */
  private searchTexts(): SearchText[][] {
    this.searchTextCache ??= this.concepts.map((c) =>
      [c.name, c.id.replace(/_/g, ' '), ...c.synonyms, ...c.abbreviations].map((text, i) => ({
        tokens: normalizeTokens(text),
        isName: i === 0,
      })),
    );
    return this.searchTextCache;
  }

  private indexConcept(concept: Concept): void {
    this.addTerm(concept.name, concept.id, 'name');
    this.addTerm(concept.id.replace(/_/g, ' '), concept.id, 'synonym');
    for (const synonym of concept.synonyms) this.addTerm(synonym, concept.id, 'synonym');
    for (const abbreviation of concept.abbreviations) this.addTerm(abbreviation, concept.id, 'abbreviation');
    for (const adjective of concept.adjectives) {
      const key = termKey(adjective);
      const ids = this.adjectives.get(key) ?? [];
      if (!ids.includes(concept.id)) this.adjectives.set(key, [...ids, concept.id]);
      this.addTokens(key);
    }
    const parents = [...(concept.unsided ? [concept.unsided] : []), ...concept.isA, ...concept.partOf];
    for (const parent of new Set(parents))
      this.childIds.set(parent, [...(this.childIds.get(parent) ?? []), concept.id]);
    if (concept.locatedIn) {
      this.lesionsByOrgan.set(concept.locatedIn, [...(this.lesionsByOrgan.get(concept.locatedIn) ?? []), concept]);
    }
  }

  private addTerm(text: string, conceptId: string, kind: TermKind): void {
    const key = termKey(text);
    if (!key) return;
    const entries = this.terms.get(key) ?? [];
    const existing = entries.find((e) => e.conceptId === conceptId);
    if (existing) {
      if (kindRank(kind) < kindRank(existing.kind)) existing.kind = kind;
    } else {
      entries.push({ conceptId, kind });
      this.terms.set(key, entries);
    }
    this.addTokens(key);
  }

  private addTokens(key: string): void {
    for (const token of key.split(' ')) {
      if (this.knownTokens.has(token)) continue;
      this.knownTokens.add(token);
      this.tokensByLength.set(token.length, [...(this.tokensByLength.get(token.length) ?? []), token]);
    }
  }
}

function kindRank(kind: TermKind): number {
  return kind === 'name' ? 0 : kind === 'synonym' ? 1 : 2;
}

interface SearchText {
  tokens: string[];
  isName: boolean;
}

function searchScore(texts: SearchText[], queryTokens: string[]): number {
  let best = 0;
  for (const { tokens, isName } of texts) {
    const all = queryTokens.every((q) => tokens.some((t) => t === q || t.startsWith(q)));
    if (!all) continue;
    const exact = tokens.length === queryTokens.length && queryTokens.every((q) => tokens.includes(q));
    const score = (exact ? 3 : 1) + (isName ? 1 : 0) + queryTokens.length / tokens.length;
    best = Math.max(best, score);
  }
  return best;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Checks the shape of every concept and that every link points at a concept that exists. */
export function validateVocabularyFile(value: unknown, origin: string): VocabularyFile {
  const fail = (message: string): never => {
    throw new Error(`${origin}: invalid vocabulary: ${message}`);
  };
  if (!isRecord(value)) return fail('not an object');
  if (typeof value.version !== 'number') fail('missing version');
  if (!Array.isArray(value.concepts)) return fail('missing concepts array');
  if (!Array.isArray(value.ambiguousTerms)) fail('missing ambiguousTerms array');
  const ids = new Set<string>();
  for (const raw of value.concepts) {
    const problem = conceptShapeProblem(raw);
    if (problem) fail(problem);
    const concept = raw as Concept;
    if (ids.has(concept.id)) fail(`duplicate concept id "${concept.id}"`);
    ids.add(concept.id);
  }
  for (const concept of value.concepts as Concept[]) {
    const links = [
      ...concept.isA,
      ...concept.partOf,
      ...(concept.unsided ? [concept.unsided] : []),
      ...(concept.locatedIn ? [concept.locatedIn] : []),
      ...(concept.sided ? [concept.sided.left, concept.sided.right] : []),
    ];
    const dangling = links.find((link) => !ids.has(link));
    if (dangling) fail(`concept "${concept.id}" links to unknown "${dangling}"`);
  }
  for (const term of value.ambiguousTerms as AmbiguousTerm[]) {
    const dangling = term.candidates.find((c) => !ids.has(c));
    if (dangling) fail(`ambiguous term "${term.term}" names unknown "${dangling}"`);
  }
  return value as unknown as VocabularyFile;
}

function conceptShapeProblem(raw: unknown): string | undefined {
  if (!isRecord(raw)) return 'a concept is not an object';
  const id = typeof raw.id === 'string' ? raw.id : '(no id)';
  if (!/^[a-z0-9]+(_[a-z0-9]+)*$/.test(id)) return `bad concept id "${id}"`;
  if (typeof raw.name !== 'string' || raw.name === '') return `${id}: missing name`;
  if (!CATEGORIES.includes(raw.category as Category)) return `${id}: unknown category "${String(raw.category)}"`;
  for (const field of ['synonyms', 'abbreviations', 'adjectives', 'isA', 'partOf', 'modalities']) {
    if (!isStringArray(raw[field])) return `${id}: ${field} is not a list of strings`;
  }
  if (raw.lesionKind !== null && !LESION_KINDS.includes(raw.lesionKind as (typeof LESION_KINDS)[number])) {
    return `${id}: unknown lesionKind`;
  }
  const color = raw.color;
  if (!Array.isArray(color) || color.length !== 3 || !color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) {
    return `${id}: color must be three integers 0-255`;
  }
  if (!isRecord(raw.sourceLabels) || !isRecord(raw.codes)) return `${id}: missing sourceLabels or codes`;
  return undefined;
}
