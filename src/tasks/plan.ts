import type { Concept, ParsedPrompt, Vocabulary } from '../vocab/index.js';
import type { ImagingModality, ModelPackage, NetworkSpec } from '../runtime/model-package.js';

/**
 * How a concept is obtained from the model: straight from a network's query row, as the union of
 * its parts ("kidney" = left + right kidney), or as one side of an unsided mask ("left kidney"
 * from a model that only knows "kidney", split in world coordinates).
 */
export type ConceptSource =
  | { kind: 'network'; conceptId: string; network: NetworkSpec; row: number }
  | { kind: 'union'; conceptId: string; parts: ConceptSource[]; missing: string[] }
  | { kind: 'side'; conceptId: string; side: 'left' | 'right'; of: ConceptSource };

export type PlanStatus = 'planned' | 'unsupported' | 'unknown' | 'ambiguous';

export interface PromptPlan {
  prompt: ParsedPrompt;
  status: PlanStatus;
  concept?: Concept;
  source?: ConceptSource;
  notes: string[];
}

const MAX_DEPTH = 3;

export function planPrompts(
  prompts: ParsedPrompt[],
  vocabulary: Vocabulary,
  model: ModelPackage,
  modality: ImagingModality,
): PromptPlan[] {
  return prompts.map((prompt) => planPrompt(prompt, vocabulary, model, modality));
}

function planPrompt(
  prompt: ParsedPrompt,
  vocabulary: Vocabulary,
  model: ModelPackage,
  modality: ImagingModality,
): PromptPlan {
  const notes = [...prompt.notes];
  if (prompt.status !== 'resolved') return { prompt, status: prompt.status, notes };
  const concept = vocabulary.require(prompt.concepts[0].id);
  if (
    prompt.modalityHint &&
    prompt.modalityHint !== modality &&
    !(prompt.modalityHint === 'PET' && modality === 'PT')
  ) {
    notes.push(`the prompt mentions ${prompt.modalityHint} but the image is ${modality}`);
  }
  const source = findSource(concept.id, vocabulary, model, modality, 0);
  if (!source) {
    const elsewhere = model.networks
      .filter((n) => n.concepts.some((c) => c.id === concept.id))
      .flatMap((n) => n.modalities);
    notes.push(
      elsewhere.length
        ? `the model segments ${concept.name} only in ${[...new Set(elsewhere)].join('/')} images, not ${modality}`
        : `the model does not segment ${concept.name}`,
    );
    return { prompt, status: 'unsupported', concept, notes };
  }
  if (source.kind === 'union' && source.missing.length) {
    notes.push(`${concept.name} is the union of the parts the model segments; missing: ${source.missing.join(', ')}`);
  }
  if (source.kind === 'side')
    notes.push(`${concept.name} is the ${source.side} side (in world coordinates) of the unsided mask`);
  return { prompt, status: 'planned', concept, source, notes };
}

export function findSource(
  id: string,
  vocabulary: Vocabulary,
  model: ModelPackage,
  modality: ImagingModality,
  depth: number,
): ConceptSource | undefined {
  const direct = networkFor(id, model, modality);
  if (direct) return direct;
  if (depth >= MAX_DEPTH) return undefined;
  const concept = vocabulary.get(id);
  if (!concept) return undefined;
  const partIds = [
    ...new Set([
      ...(concept.sided ? [concept.sided.left, concept.sided.right] : []),
      ...vocabulary.partsOf(id).map((c) => c.id),
      ...vocabulary.children(id).map((c) => c.id),
    ]),
  ];
  const parts = partIds.map((part) => ({ part, source: findSource(part, vocabulary, model, modality, depth + 1) }));
  const found = parts.filter((p) => p.source).map((p) => p.source as ConceptSource);
  if (found.length)
    return { kind: 'union', conceptId: id, parts: found, missing: parts.filter((p) => !p.source).map((p) => p.part) };
  if (concept.unsided && (concept.laterality === 'left' || concept.laterality === 'right')) {
    const whole = findSource(concept.unsided, vocabulary, model, modality, depth + 1);
    if (whole) return { kind: 'side', conceptId: id, side: concept.laterality, of: whole };
  }
  return undefined;
}

function networkFor(id: string, model: ModelPackage, modality: ImagingModality): ConceptSource | undefined {
  for (const network of model.networks) {
    if (!network.modalities.includes(modality)) continue;
    const entry = network.concepts.find((c) => c.id === id);
    if (entry) return { kind: 'network', conceptId: id, network, row: entry.index };
  }
  return undefined;
}

/** Every network query a set of plans needs, grouped by network, each row once. */
export function networkQueries(plans: PromptPlan[]): Map<NetworkSpec, number[]> {
  const queries = new Map<NetworkSpec, Set<number>>();
  const visit = (source: ConceptSource): void => {
    if (source.kind === 'network') {
      const rows = queries.get(source.network) ?? new Set<number>();
      rows.add(source.row);
      queries.set(source.network, rows);
    } else if (source.kind === 'union') {
      source.parts.forEach(visit);
    } else {
      visit(source.of);
    }
  };
  plans.forEach((plan) => plan.source && visit(plan.source));
  return new Map([...queries].map(([network, rows]) => [network, [...rows].sort((a, b) => a - b)]));
}
