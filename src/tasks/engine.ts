import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MedparseError } from '../core/errors.js';
import type { ProgressCallback } from '../core/progress.js';
import type { VolumeHeader } from '../io/admit.js';
import { spacingOf, voxelVolumeMl, type Dims3, type Volume } from '../core/volume.js';
import {
  checkNetworkFile,
  loadModelPackage,
  rowWithheldReason,
  type ImagingModality,
  type ModelPackage,
  type NetworkSpec,
} from '../runtime/model-package.js';
import { scanScope, type ScanScope } from '../runtime/scan-scope.js';
import { openNetwork, type NetworkSession, type RuntimeOptions } from '../runtime/onnx-session.js';
import { prepareInput, probabilityOnOriginalGrid, withPhysicalAffine, type Box } from '../runtime/preprocess.js';
import { describeFlips, maskConfidence, searchFlips } from '../runtime/flip-search.js';
import { slidingWindowInference } from '../runtime/sliding-window.js';
import { loadVocabulary, parsePrompts, type ParsedPrompt, type Vocabulary } from '../vocab/index.js';
import { resolveModality } from './modality.js';
import { networkQueries, planPrompts, type ConceptSource, type PromptPlan } from './plan.js';
import { decidePresence, sigmoid, type PresenceDecision } from './presence.js';
import {
  MIN_INSTANCE_VOXELS,
  describeMask,
  dropStrayIslands,
  forEachRowInBox,
  keepLargestGroupPiece,
  splitBySide,
  withoutSpecks,
} from './mask-analysis.js';
import { settleOverlaps } from './overlaps.js';
import { checkAnatomy, type OrganAnswer } from './sanity.js';
import type { OrientationSearchReport, ParseResult, PromptResult } from './results.js';

/** The model package shipped with medparse: <repo>/models/medparse-default. */
export const DEFAULT_MODEL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../models/medparse-default');

export interface EngineOptions extends RuntimeOptions {
  overlap?: number;
  batchSize?: number;
  onProgress?: ProgressCallback;
  /** Refuse requests estimated to need more memory than this (GB; default 75 % of the machine's). */
  memoryLimitGb?: number;
  /** Keep the network's raw masks: no removal of stray islands from anatomical structures (default false). */
  keepIslands?: boolean;
  /**
   * Also answer concepts the model withholds (`withheld` in model.json: measured not to work on
   * held-out scans), each with a note; for research and evaluation (default false).
   */
  experimental?: boolean;
}

export interface ParseOptions {
  /** CT or MR; by default from the file's metadata, else guessed from its values. */
  modality?: string;
}

/** One network query's answer: where the concept is on the input grid and the evidence for it. */
interface QueryAnswer {
  probability: Uint8Array;
  voxels: number;
  /** Tight box of the mask on the input grid, null when empty. */
  box: Box | null;
  presenceLogit: number;
  meanProbability: number;
  meanIntensity: number;
  decision: PresenceDecision;
  /** What a connected group left out of this answer: mL apart from the group's largest piece, and the group. */
  setApart?: { volumeMl: number; group: string[] };
  /** mL of a lesion's small islands left out (its calibration found them mostly false). */
  minorIslandsMl?: number;
}

/** The input's voxels and a 4-byte working copy of each: what any request on an image needs at least. */
function inputBytes(voxels: number, bytesPerVoxel: number): number {
  return voxels * (bytesPerVoxel + 4);
}

/** Below this, what a connected group leaves out is not worth a note (the stray-island rule's scale). */
const SET_APART_NOTE_ML = 1;

/**
 * Loads a model package once and answers prompts on volumes with it. Networks open lazily (only
 * those the prompts need) and stay open for later requests; call dispose() when done.
 */
export class ParseEngine {
  readonly model: ModelPackage;
  readonly vocabulary: Vocabulary;
  private readonly options: EngineOptions;
  private readonly sessions = new Map<string, Promise<NetworkSession>>();

  private constructor(model: ModelPackage, vocabulary: Vocabulary, options: EngineOptions) {
    this.model = model;
    this.vocabulary = vocabulary;
    this.options = options;
  }

  static load(modelDir: string = DEFAULT_MODEL_DIR, options: EngineOptions = {}): ParseEngine {
    if (!existsSync(modelDir)) {
      throw new MedparseError(
        'FILE_NOT_FOUND',
        'no model package here; pass --model <folder with model.json> or reinstall medparse',
        modelDir,
      );
    }
    const model = loadModelPackage(modelDir);
    const vocabulary = loadVocabulary();
    for (const network of model.networks) {
      const unknown = network.concepts.filter((c) => !vocabulary.get(c.id)).map((c) => c.id);
      if (unknown.length) {
        throw new MedparseError(
          'CORRUPT_FILE',
          `network ${network.id} names concepts the vocabulary does not know: ${unknown.join(', ')}`,
          join(modelDir, 'model.json'),
        );
      }
    }
    return new ParseEngine(model, vocabulary, options);
  }

  /** Answers free-text prompts ("liver, spleen and both kidneys"). */
  async segment(volume: Volume, promptText: string, options: ParseOptions = {}): Promise<ParseResult> {
    const prompts = parsePrompts(promptText, this.vocabulary);
    if (prompts.length === 0)
      throw new MedparseError('INVALID_ARGUMENT', 'the prompt list is empty; give prompts with -p "liver, spleen"');
    return this.run(volume, prompts, options);
  }

  /** Runs every concept the model knows for the image's modality and reports all of them. */
  async recognize(volume: Volume, options: ParseOptions = {}): Promise<ParseResult> {
    const { modality } = resolveModality(volume, options.modality);
    const scope = scanScope(volume);
    const ids = this.model.networks
      .filter((n) => n.modalities.includes(modality))
      .flatMap((n) =>
        n.concepts.filter((c) => this.options.experimental || !rowWithheldReason(c, scope)).map((c) => c.id),
      );
    return this.segmentConcepts(volume, [...new Set(ids)], options);
  }

  /** Answers vocabulary concept ids directly (no text parsing): for recognition and evaluation. */
  async segmentConcepts(volume: Volume, ids: string[], options: ParseOptions = {}): Promise<ParseResult> {
    const prompts = ids.map((id) => conceptPrompt(this.vocabulary, id));
    return this.run(volume, prompts, options);
  }

  /** Plans for the organs the planned lesions lie in, by organ id, where the model answers the organ. */
  private organPlans(plans: PromptPlan[], modality: ImagingModality, scope: ScanScope): Map<string, PromptPlan> {
    const organIds = new Set(
      plans.flatMap((plan) =>
        plan.status === 'planned' && plan.concept?.category === 'lesion' && plan.concept.locatedIn
          ? [plan.concept.locatedIn]
          : [],
      ),
    );
    const organPlans = new Map<string, PromptPlan>();
    for (const organId of organIds) {
      const [plan] = planPrompts([conceptPrompt(this.vocabulary, organId)], this.vocabulary, this.model, modality, {
        scope,
        experimental: this.options.experimental,
      });
      if (plan.status === 'planned') organPlans.set(organId, plan);
    }
    return organPlans;
  }

  async dispose(): Promise<void> {
    // a network that failed to load (a bad checksum) has nothing to release
    for (const session of this.sessions.values()) await (await session.catch(() => undefined))?.dispose();
    this.sessions.clear();
  }

  private async run(volume: Volume, prompts: ParsedPrompt[], options: ParseOptions): Promise<ParseResult> {
    const timings: Record<string, number> = {};
    const orientationSearch: OrientationSearchReport[] = [];
    const { modality, source: modalitySource } = resolveModality(volume, options.modality);
    const scope = scanScope(volume);
    const plans = planPrompts(prompts, this.vocabulary, this.model, modality, {
      scope,
      experimental: this.options.experimental,
    });
    // Lesions are checked against their organ's mask: the organs run too, unless prompted already.
    const organPlans = this.organPlans(plans, modality, scope);
    const queries = networkQueries([...plans, ...organPlans.values()]);
    this.checkMemory(volume, queries);
    const physical = withPhysicalAffine(volume);
    const answers = new Map<string, QueryAnswer>();
    for (const [network, rows] of queries) {
      const networkAnswers = await this.runNetwork(physical, network, rows, modality, timings, orientationSearch);
      rows.forEach((row, q) => answers.set(`${network.id}#${row}`, networkAnswers[q]));
    }
    const started = performance.now();
    const answered = plans.map((plan) => this.answerPrompt(plan, physical, answers));
    const organs = new Map<string, OrganAnswer>();
    for (const [organId, plan] of organPlans)
      organs.set(organId, {
        name: this.vocabulary.ref(organId).name,
        result: this.answerPrompt(plan, physical, answers),
      });
    const checked = checkAnatomy(answered, organs, physical, this.vocabulary, {
      // A crop shows one side of the body or none, so its centre says nothing of left and right; a network
      // that searches orientations (cardiac stacks whose files carry none) leaves left and right unknown.
      checkSides: plans.map((plan) => scope === 'whole' && !readsFlipSearch(plan.source)),
    });
    const results = settleOverlaps(checked, physical, this.vocabulary);
    timings.postprocess = (timings.postprocess ?? 0) + performance.now() - started;
    return {
      input: volume,
      modality,
      modalitySource,
      model: {
        name: this.model.name,
        version: this.model.version,
        networks: [...queries.keys()].map((n) => n.id),
      },
      prompts: results,
      orientationSearch,
      timings,
    };
  }

  private async runNetwork(
    volume: Volume,
    network: NetworkSpec,
    rows: number[],
    modality: ImagingModality,
    timings: Record<string, number>,
    orientationSearch: OrientationSearchReport[],
  ): Promise<QueryAnswer[]> {
    const report = this.options.onProgress;
    // A prompted part of a connected group needs its fellow parts too, to find the group's piece;
    // answers come back for `rows` only (the first rows of `runRows`).
    const groups = this.groupsToJoin(network, rows);
    const runRows = this.rowsToRun(network, rows);
    let started = performance.now();
    report?.({ stage: 'preprocess', fraction: 0, message: `${network.id}: preparing the image` });
    const prepared = prepareInput(volume, network, modality);
    timings.preprocess = (timings.preprocess ?? 0) + performance.now() - started;
    const session = await this.session(network);
    started = performance.now();
    const queries = `${runRows.length} quer${runRows.length === 1 ? 'y' : 'ies'}`;
    const { inference, kept, trials } = await searchFlips(
      prepared.image,
      network.flipSearch,
      (image, trial, of) =>
        slidingWindowInference(image, network.patchSize, session, runRows, {
          padValue: prepared.padValue,
          overlap: this.options.overlap,
          batchSize: this.options.batchSize,
          onProgress: report
            ? (e) =>
                report({
                  ...e,
                  message: `${network.id}: ${queries}` + (of > 1 ? `, orientation ${trial + 1} of ${of}` : ''),
                })
            : undefined,
        }),
      // judged as answered: after the connected groups' cut, on copies (the kept maps are cut below)
      (maps) => {
        const copies = maps.map((map) => map.slice());
        keepGroupPieces(network, groups, runRows, copies, prepared.image);
        return maskConfidence(copies);
      },
    );
    timings.inference = (timings.inference ?? 0) + performance.now() - started;
    if (trials.length > 1)
      orientationSearch.push({
        network: network.id,
        kept: describeFlips(kept.flips),
        tried: trials.map((t) => ({ orientation: describeFlips(t.flips), confidence: t.confidence })),
      });
    started = performance.now();
    const setApart = keepGroupPieces(network, groups, runRows, inference.probabilities, prepared.image);
    const voxelMl = voxelVolumeMl(volume);
    const normalization = network.normalization[modality];
    // Normalised over nonzero voxels, a zero stays 0 and means "no data here" (docs/model-contract.md).
    const zeroMeansNoSignal = normalization?.type === 'percentile_zscore' && normalization.nonzeroOnly;
    const answers = rows.map((row, q) => {
      const concept = network.concepts.find((c) => c.index === row);
      const lesion = concept !== undefined && this.vocabulary.get(concept.id)?.category === 'lesion';
      const calibration = concept?.calibration[modality];
      const pruned =
        !this.options.keepIslands && (!lesion || calibration?.dropMinorIslands === true)
          ? dropStrayIslands(inference.probabilities[q], prepared.image, {
              singleComponent: !lesion && calibration?.singleComponent === true,
            })
          : 0;
      const working = { ...prepared.image, data: inference.probabilities[q] };
      const { s1, s2, emptyFraction } = maskStatistics(
        inference.probabilities[q],
        prepared.image.data,
        zeroMeansNoSignal,
      );
      const { probability, voxels, box } = probabilityOnOriginalGrid(working, prepared.mapping);
      const evidence = {
        voxels,
        volumeMl: voxels * voxelMl,
        presenceLogit: inference.presenceLogits[q],
        meanProbability: s1,
        meanIntensity: s2,
        ...(emptyFraction === undefined ? {} : { emptyFraction }),
      };
      return {
        probability,
        box,
        ...evidence,
        decision: decidePresence(evidence, calibration),
        setApart: setApart.get(row),
        ...(lesion && pruned > 0 ? { minorIslandsMl: pruned * voxelVolumeMl(prepared.image) } : {}),
      };
    });
    timings.decode = (timings.decode ?? 0) + performance.now() - started;
    return answers;
  }

  /**
   * Refuses, before any work, a request whose estimated peak memory exceeds the limit: the input,
   * one byte per voxel per query on the input grid, and float32 working images and probability
   * maps on each network's grid.
   */
  private checkMemory(volume: Volume, queries: Map<NetworkSpec, number[]>): void {
    const inputVoxels = volume.data.length;
    const [sx, sy, sz] = spacingOf(volume);
    let bytes = inputBytes(inputVoxels, volume.data.BYTES_PER_ELEMENT);
    for (const [network, rows] of queries) {
      const workingVoxels =
        (inputVoxels * sx * sy * sz) / (network.spacing[0] * network.spacing[1] * network.spacing[2]);
      // an orientation search holds the best run's maps, the current run's and the judge's copies
      const maps = this.rowsToRun(network, rows).length * (network.flipSearch.length ? 3 : 1);
      bytes += inputVoxels * rows.length + workingVoxels * 4 * (maps + 3);
    }
    this.refuseOverLimit(bytes, volume.meta.sourcePath);
  }

  /**
   * The memory check made from an image's header, before its voxels are read (pass it to readVolume
   * as `checkHeader`): the input alone, a lower bound of what any request on it needs, so a header
   * declaring a volume too large for the limit is refused before the volume is read or inflated.
   */
  readonly checkHeader = (header: VolumeHeader): void => {
    const voxels = header.dims[0] * header.dims[1] * header.dims[2];
    this.refuseOverLimit(inputBytes(voxels, header.bytesPerVoxel), header.file);
  };

  private refuseOverLimit(bytes: number, file: string | undefined): void {
    const limitGb = this.options.memoryLimitGb ?? (0.75 * totalmem()) / 2 ** 30;
    const neededGb = bytes / 2 ** 30;
    if (neededGb > limitGb) {
      throw new MedparseError(
        'INVALID_ARGUMENT',
        `the request needs about ${neededGb.toFixed(1)} GB of memory, more than the limit of ${limitGb.toFixed(1)} GB; pass --memory-limit-gb ${Math.ceil(neededGb)} if the machine has it, ask for fewer prompts at once, or crop the image`,
        file,
      );
    }
  }

  /** Connected groups (as rows) that a request for `rows` must join; none when islands are kept. */
  private groupsToJoin(network: NetworkSpec, rows: readonly number[]): number[][] {
    return this.options.keepIslands ? [] : groupsOfRows(network, rows);
  }

  /** The prompted rows first, then the fellow parts of their connected groups. */
  private rowsToRun(network: NetworkSpec, rows: readonly number[]): number[] {
    return [...new Set([...rows, ...this.groupsToJoin(network, rows).flat()])];
  }

  private session(network: NetworkSpec): Promise<NetworkSession> {
    let session = this.sessions.get(network.id);
    if (!session) {
      // the file must be the one model.json vouches for before it runs
      session = checkNetworkFile(network).then(() => openNetwork(network.file, this.options));
      this.sessions.set(network.id, session);
    }
    return session;
  }

  private answerPrompt(plan: PromptPlan, volume: Volume, answers: Map<string, QueryAnswer>): PromptResult {
    const base = {
      text: plan.prompt.text,
      suggestions: plan.prompt.suggestions,
      notes: plan.notes,
      ...(plan.concept
        ? { concept: { ...this.vocabulary.ref(plan.concept.id), category: plan.concept.category } }
        : {}),
    };
    if (plan.status !== 'planned' || !plan.source)
      return { ...base, status: plan.status === 'planned' ? 'unsupported' : plan.status, score: null };
    const answer = combine(plan.source, volume, answers);
    // Islands too small to be an object are no part of any answer (raw masks keep them with --keep-islands),
    // and an answer made only of them is absent: a present answer has an instance.
    const cleaned = withoutSpecks(answer.probability, answer.box, volume);
    const { probability } = this.options.keepIslands ? answer : cleaned;
    const removed = this.options.keepIslands ? 0 : cleaned.removed;
    const evidenceBase = describeMask(probability, answer.box, volume);
    const specksOnly =
      answer.decision.status === 'present' && answer.voxels > 0 && cleaned.removed === answer.voxels
        ? [
            `its mask is ${answer.voxels} voxel${answer.voxels === 1 ? '' : 's'} in islands under ` +
              `${MIN_INSTANCE_VOXELS} voxels each, too small to be an object`,
          ]
        : [];
    const present = answer.decision.status === 'present' && answer.voxels - removed > 0 && specksOnly.length === 0;
    const setApart =
      answer.setApart && answer.setApart.volumeMl >= SET_APART_NOTE_ML
        ? [
            `${answer.setApart.volumeMl.toFixed(1)} mL of the network's mask lay apart from the largest connected ` +
              `piece of ${answer.setApart.group.map((id) => this.vocabulary.ref(id).name).join(', ')} ` +
              '(parts of one organ) and was left out; --keep-islands keeps it',
          ]
        : [];
    // A small lesion may be real, so a reader is told what the island rule took (there is no volume floor).
    const minorIslands = answer.minorIslandsMl
      ? [
          `${answer.minorIslandsMl.toFixed(2)} mL in islands under a tenth of the largest was left out: on training ` +
            'scans such islands of this concept were mostly false; --keep-islands keeps them',
        ]
      : [];
    const uncalibrated = answer.decision.calibrated
      ? []
      : [
          'presence is uncalibrated for this concept: no real scan with it was in the calibration set, so the ' +
            "score is the network's raw presence output and has not been checked against real cases",
        ];
    return {
      ...base,
      notes: [...base.notes, ...setApart, ...minorIslands, ...uncalibrated],
      status: present ? 'present' : 'absent',
      score: answer.decision.score,
      evidence: {
        voxels: answer.voxels,
        volumeMl: answer.voxels * voxelVolumeMl(volume),
        presenceLogit: answer.presenceLogit,
        meanProbability: answer.meanProbability,
        meanIntensity: answer.meanIntensity,
        pValue: answer.decision.pValue,
        calibrated: answer.decision.calibrated,
        boxVoxels: evidenceBase.statistics?.boxVoxels ?? null,
        bestSlice: evidenceBase.bestSlice,
        reasons: [...answer.decision.reasons, ...specksOnly],
      },
      ...(present ? { probability, statistics: evidenceBase.statistics, instances: evidenceBase.instances } : {}),
    };
  }
}

/** Whether a source reads a network that searches orientations (its answers' left and right are not the file's). */
function readsFlipSearch(source: ConceptSource | undefined): boolean {
  if (!source) return false;
  if (source.kind === 'network') return source.network.flipSearch.length > 0;
  return source.kind === 'union' ? source.parts.some(readsFlipSearch) : readsFlipSearch(source.of);
}

/** A prompt that names one concept exactly, as recognition and evaluation ask. */
function conceptPrompt(vocabulary: Vocabulary, id: string): ParsedPrompt {
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

/** The network's connected groups (as rows) that hold at least one of the prompted rows. */
function groupsOfRows(network: NetworkSpec, rows: readonly number[]): number[][] {
  const rowOf = new Map(network.concepts.map((c) => [c.id, c.index]));
  return network.connectedGroups
    .map((group) => group.map((id) => rowOf.get(id) as number))
    .filter((group) => group.some((row) => rows.includes(row)));
}

/**
 * Cuts each group's probability maps (`probabilities[n]` is row `runRows[n]`'s, on `grid`) to the largest
 * piece of their union, in place; returns, by row, what was left out and the group's concept ids.
 */
function keepGroupPieces(
  network: NetworkSpec,
  groups: number[][],
  runRows: readonly number[],
  probabilities: readonly Float32Array[],
  grid: Volume,
): Map<number, NonNullable<QueryAnswer['setApart']>> {
  const voxelMl = voxelVolumeMl(grid);
  const setApart = new Map<number, NonNullable<QueryAnswer['setApart']>>();
  for (const group of groups) {
    const dropped = keepLargestGroupPiece(
      group.map((row) => probabilities[runRows.indexOf(row)]),
      grid,
    );
    const ids = group.map((row) => network.concepts.find((c) => c.index === row)?.id ?? String(row));
    group.forEach((row, n) => setApart.set(row, { volumeMl: dropped[n] * voxelMl, group: ids }));
  }
  return setApart;
}

/** Builds a prompt's answer from network answers: a row as is, a union of parts, or one side. */
function combine(source: ConceptSource, volume: Volume, answers: Map<string, QueryAnswer>): QueryAnswer {
  if (source.kind === 'network') {
    const answer = answers.get(`${source.network.id}#${source.row}`);
    if (!answer) throw new Error(`no network answer for ${source.conceptId}`);
    return answer;
  }
  if (source.kind === 'side') {
    const whole = combine(source.of, volume, answers);
    const { probability, box } = splitBySide(whole.probability, whole.box, volume, source.side);
    const voxels = countNonzero(probability, box, volume.dims);
    const decision: PresenceDecision =
      voxels > 0
        ? whole.decision
        : {
            ...whole.decision,
            status: 'absent',
            score: 0,
            reasons: [...whole.decision.reasons, `nothing on the ${source.side} side`],
          };
    return { ...whole, probability, voxels, box, decision };
  }
  const parts = source.parts.map((part) => combine(part, volume, answers));
  const present = parts.filter((p) => p.decision.status === 'present');
  const probability = new Uint8Array(volume.data.length);
  for (const part of present) {
    const p = part.probability;
    forEachRowInBox(part.box, volume.dims, (from, to) => {
      for (let i = from; i < to; i++) if (p[i] > probability[i]) probability[i] = p[i];
    });
  }
  const box = unionBox(present.map((p) => p.box));
  const best = parts.reduce((a, b) => (b.decision.score > a.decision.score ? b : a));
  const setApart = parts.flatMap((p) => (p.setApart ? [p.setApart] : []));
  const minorIslandsMl = present.reduce((sum, p) => sum + (p.minorIslandsMl ?? 0), 0);
  return {
    ...(minorIslandsMl > 0 ? { minorIslandsMl } : {}),
    ...(setApart.length
      ? {
          setApart: {
            volumeMl: setApart.reduce((sum, s) => sum + s.volumeMl, 0),
            group: [...new Set(setApart.flatMap((s) => s.group))],
          },
        }
      : {}),
    probability,
    box,
    voxels: countNonzero(probability, box, volume.dims),
    presenceLogit: Math.max(...parts.map((p) => p.presenceLogit)),
    meanProbability: best.meanProbability,
    meanIntensity: best.meanIntensity,
    decision: present.length
      ? { ...best.decision, status: 'present' }
      : { ...best.decision, status: 'absent', reasons: ['none of its parts is present'] },
  };
}

/**
 * s1 and s2 of the BiomedParse test, on the working grid: mean probability and squashed intensity inside
 * p > 0.5; with `zeroMeansNoSignal`, also the share of those voxels whose normalised value is exactly 0.
 */
function maskStatistics(
  probabilities: Float32Array,
  normalized: ArrayLike<number>,
  zeroMeansNoSignal: boolean,
): { s1: number; s2: number; emptyFraction?: number } {
  let count = 0;
  let empty = 0;
  let probabilitySum = 0;
  let intensitySum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    if (probabilities[i] > 0.5) {
      count++;
      probabilitySum += probabilities[i];
      intensitySum += sigmoid(normalized[i]);
      if (normalized[i] === 0) empty++;
    }
  }
  const means = count ? { s1: probabilitySum / count, s2: intensitySum / count } : { s1: 0, s2: 0 };
  return zeroMeansNoSignal ? { ...means, emptyFraction: count ? empty / count : 0 } : means;
}

function countNonzero(data: Uint8Array, box: Box | null, dims: Dims3): number {
  let n = 0;
  forEachRowInBox(box, dims, (from, to) => {
    for (let i = from; i < to; i++) if (data[i]) n++;
  });
  return n;
}

function unionBox(boxes: Array<Box | null>): Box | null {
  const present = boxes.filter((b): b is Box => b !== null);
  if (!present.length) return null;
  return [0, 1, 2, 3, 4, 5].map((n) =>
    n < 3 ? Math.min(...present.map((b) => b[n])) : Math.max(...present.map((b) => b[n])),
  ) as Box;
}
