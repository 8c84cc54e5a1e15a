/**
 * Stage 1 of a parse, planning: which concepts the prompts name, how the model answers each (a network
 * row, a union of parts, one side of a whole) or why it cannot, and the network queries that needs.
 * Nothing here touches voxels but the modality guess and the scan's traits (scope, slice thickness).
 */
import type { Volume } from '../../core/volume.js';
import type { Concept, ParsedPrompt, Vocabulary } from '../../vocab/index.js';
import {
  answeringRow,
  rowWithheldReason,
  withheldReason,
  type ImagingModality,
  type ModelPackage,
  type NetworkConcept,
  type NetworkSpec,
} from '../../runtime/model-spec.js';
import { scanTraits, type ScanScope, type ScanTraits } from '../../runtime/scan-scope.js';
import { resolveModality, type ModalitySource } from '../modality.js';

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

export interface PlanOptions {
  /** The scan asked about: rows may be withheld on crops or on whole scans only, or on thick slices. */
  scan: ScanTraits;
  /** Also answer from rows the model withholds (measured not to work on held-out scans), with a note. */
  experimental?: boolean;
}

/** What one planning pass looks things up in. */
interface PlanContext {
  vocabulary: Vocabulary;
  model: ModelPackage;
  modality: ImagingModality;
  scan: ScanTraits;
  experimental: boolean;
}

export function planPrompts(
  prompts: ParsedPrompt[],
  vocabulary: Vocabulary,
  model: ModelPackage,
  modality: ImagingModality,
  options: PlanOptions,
): PromptPlan[] {
  const context = { vocabulary, model, modality, scan: options.scan, experimental: options.experimental === true };
  return prompts.map((prompt) => planPrompt(prompt, context));
}

function planPrompt(prompt: ParsedPrompt, context: PlanContext): PromptPlan {
  const { vocabulary, model, modality } = context;
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
  const source = findSource(concept.id, context, 0);
  const withheld = withheldNotes(concept.id, source, context);
  notes.push(...withheld);
  if (!source) {
    const elsewhere = model.networks
      .filter((n) => n.concepts.some((c) => c.id === concept.id))
      .flatMap((n) => n.modalities);
    // A withheld row's note already says why there is no answer.
    if (withheld.length === 0 && uncalibratedRow(concept.id, context))
      notes.push(
        `the model has no presence calibration for ${concept.name} in ${modality} images (no real scan with it was ` +
          `among its calibration cases), so it cannot tell whether ${concept.name} is there; --experimental answers ` +
          "it from the network's raw output",
      );
    else if (withheld.length === 0 && sideOnCrop(concept, context))
      notes.push(
        `${concept.name} would be the ${concept.laterality} side of the ${vocabulary.get(concept.unsided as string)?.name ?? concept.unsided} ` +
          'mask, but this scan is a crop with no midline to tell the sides apart: ask for the structure unsided',
      );
    else if (withheld.length === 0)
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

function findSource(id: string, context: PlanContext, depth: number): ConceptSource | undefined {
  const { vocabulary } = context;
  const direct = networkFor(id, context);
  if (direct) return direct;
  if (depth >= MAX_DEPTH) return undefined;
  const concept = vocabulary.get(id);
  if (!concept) return undefined;
  const parts = partIdsOf(concept, vocabulary).map((part) => ({ part, source: findSource(part, context, depth + 1) }));
  const found = parts.filter((p) => p.source).map((p) => p.source as ConceptSource);
  if (found.length)
    return { kind: 'union', conceptId: id, parts: found, missing: parts.filter((p) => !p.source).map((p) => p.part) };
  // A crop (one hippocampus, 40 mm across) holds no midline: its left half is not the patient's left.
  if (
    concept.unsided &&
    (concept.laterality === 'left' || concept.laterality === 'right') &&
    context.scan.scope === 'whole'
  ) {
    const whole = findSource(concept.unsided, context, depth + 1);
    if (whole) return { kind: 'side', conceptId: id, side: concept.laterality, of: whole };
  }
  return undefined;
}

/** A sided concept that the whole's mask would answer on a whole scan, asked of a crop. */
function sideOnCrop(concept: Concept, context: PlanContext): boolean {
  if (context.scan.scope !== 'crop' || !concept.unsided) return false;
  if (concept.laterality !== 'left' && concept.laterality !== 'right') return false;
  return findSource(concept.unsided, context, 1) !== undefined;
}

function networkFor(id: string, context: PlanContext): ConceptSource | undefined {
  const found = answeringRow(context.model, id, context.modality, context.scan, context.experimental);
  // Without a presence calibration the raw network says "present" to any positive logit (a 546 mL
  // "kidney tumour" on bladder, spleen and kidney): such a row answers only experimentally.
  if (!found || (!context.experimental && !hasPresenceCalibration(found.entry, context.modality))) return undefined;
  return { kind: 'network', conceptId: id, network: found.network, row: found.entry.index };
}

/** Whether calibration checked a row's presence answers on real scans of this modality. */
export function hasPresenceCalibration(entry: NetworkConcept, modality: ImagingModality): boolean {
  const calibration = entry.calibration[modality];
  return (
    calibration !== undefined &&
    (calibration.presenceThreshold !== undefined ||
      calibration.probabilityBeta !== undefined ||
      calibration.intensityBeta !== undefined)
  );
}

/** The concept's row in a network for this modality that is not withheld but has no presence calibration. */
function uncalibratedRow(id: string, context: PlanContext): NetworkConcept | undefined {
  const found = answeringRow(context.model, id, context.modality, context.scan, false);
  return found && !hasPresenceCalibration(found.entry, context.modality) ? found.entry : undefined;
}

/**
 * Why withheld rows were left out of an answer (or, experimentally, used in it): the concept's own
 * row and the parts a union had to do without, or every withheld row an experimental answer reads.
 */
function withheldNotes(id: string, source: ConceptSource | undefined, context: PlanContext): string[] {
  const name = (conceptId: string) => context.vocabulary.get(conceptId)?.name ?? conceptId;
  if (context.experimental) {
    return networkRows(source).flatMap(({ network, entry }) => {
      const reason = rowWithheldReason(network, entry, context.scan);
      return reason ? [`experimental: the model withholds ${name(entry.id)} from normal answers (${reason})`] : [];
    });
  }
  const reasonFor = (conceptId: string) => withheldReason(context.model, conceptId, context.modality, context.scan);
  const note = (conceptId: string, reason: string) =>
    `the model withholds ${name(conceptId)}: ${reason}; --experimental answers it anyway`;
  // A row of the concept in another network of this modality may still answer it: then nothing was skipped.
  const ownRowAnswers = source?.kind === 'network';
  const own = ownRowAnswers ? undefined : reasonFor(id);
  // The concept's own withheld row says why; its withheld parts and sides would only repeat it.
  if (own && !source) return [note(id, own)];
  // Answered another way (one side of the whole, the union of parts): the note must not read as a refusal.
  const ownNote =
    own && source
      ? [`answered ${howAnswered(source, name)} instead of from its own row, which the model withholds (${own})`]
      : [];
  const parts = source ? missingParts(source) : relatedIds(id, context.vocabulary);
  return [
    ...ownNote,
    ...[...new Set(parts)].flatMap((conceptId) => {
      const reason = reasonFor(conceptId);
      if (!reason) return [];
      return source
        ? [
            `${name(conceptId)} is left out of this answer: the model withholds it (${reason}); --experimental includes it`,
          ]
        : [note(conceptId, reason)];
    }),
  ];
}

/** "as the left side of the hippocampus's mask", "as the union of ...": how a source builds its answer. */
function howAnswered(source: ConceptSource, name: (id: string) => string): string {
  if (source.kind === 'side') return `as the ${source.side} side of the ${name(source.of.conceptId)} mask`;
  if (source.kind === 'union') return `as the union of ${source.parts.map((p) => name(p.conceptId)).join(', ')}`;
  return `from the ${name(source.conceptId)} row`;
}

/** Parts a union answer had to do without. */
function missingParts(source: ConceptSource): string[] {
  return source.kind === 'union' ? source.missing : [];
}

/** What a union answer is made of: both sides of an unsided concept, its parts and its kinds. */
function partIdsOf(concept: Concept, vocabulary: Vocabulary): string[] {
  return [
    ...new Set([
      ...(concept.sided ? [concept.sided.left, concept.sided.right] : []),
      ...vocabulary.partsOf(concept.id).map((c) => c.id),
      ...vocabulary.children(concept.id).map((c) => c.id),
    ]),
  ];
}

/** Concepts an answer could have been built from: the unsided whole and the parts. */
function relatedIds(id: string, vocabulary: Vocabulary): string[] {
  const concept = vocabulary.get(id);
  if (!concept) return [];
  return [...(concept.unsided ? [concept.unsided] : []), ...partIdsOf(concept, vocabulary)];
}

/** The network rows a source reads, with their networks. */
function networkRows(source: ConceptSource | undefined): Array<{ network: NetworkSpec; entry: NetworkConcept }> {
  if (!source) return [];
  if (source.kind === 'network')
    return source.network.concepts
      .filter((c) => c.index === source.row)
      .map((entry) => ({ network: source.network, entry }));
  return source.kind === 'union' ? source.parts.flatMap(networkRows) : networkRows(source.of);
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

/** Everything a request will run, decided before any voxel is processed. */
export interface RequestPlan {
  modality: ImagingModality;
  modalitySource: ModalitySource;
  scope: ScanScope;
  /** One plan per prompt, in the prompts' order. */
  prompts: PromptPlan[];
  /** Plans of the organs that planned lesions lie in (by organ id): lesions are checked against them. */
  organs: Map<string, PromptPlan>;
  /** Every network query the prompts and organs need, by network, each row once. */
  queries: Map<NetworkSpec, number[]>;
}

export interface RequestContext {
  vocabulary: Vocabulary;
  model: ModelPackage;
  /** Also answer from rows the model withholds, with a note. */
  experimental?: boolean;
  /** CT or MR as the user said; by default from the file, else guessed from its values. */
  modality?: string;
}

export function planRequest(volume: Volume, prompts: ParsedPrompt[], context: RequestContext): RequestPlan {
  const { modality, source: modalitySource } = resolveModality(volume, context.modality);
  const scan = scanTraits(volume);
  const { scope } = scan;
  const options = { scan, experimental: context.experimental };
  const plans = planPrompts(prompts, context.vocabulary, context.model, modality, options);
  const organs = organPlans(plans, context, modality, options);
  const queries = networkQueries([...plans, ...organs.values()]);
  return { modality, modalitySource, scope, prompts: plans, organs, queries };
}

/** Plans for the organs the planned lesions lie in, by organ id, where the model answers the organ. */
function organPlans(
  plans: PromptPlan[],
  context: RequestContext,
  modality: ImagingModality,
  options: PlanOptions,
): Map<string, PromptPlan> {
  const organIds = new Set(
    plans.flatMap((plan) =>
      plan.status === 'planned' && plan.concept?.category === 'lesion' && plan.concept.locatedIn
        ? [plan.concept.locatedIn]
        : [],
    ),
  );
  const organs = new Map<string, PromptPlan>();
  for (const organId of organIds) {
    const prompt = conceptPrompt(context.vocabulary, organId);
    const [plan] = planPrompts([prompt], context.vocabulary, context.model, modality, options);
    if (plan.status === 'planned') organs.set(organId, plan);
  }
  return organs;
}

/** A prompt that names one concept exactly, as recognition, evaluation and organ checks ask. */
export function conceptPrompt(vocabulary: Vocabulary, id: string): ParsedPrompt {
  const ref = vocabulary.ref(id);
  return {
    text: ref.name,
    status: 'resolved',
    concepts: [ref],
    confidence: 1,
    matchedBy: 'exact',
    laterality: ref.laterality,
    suggestions: [],
    notes: [],
  };
}
