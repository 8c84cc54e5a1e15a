/**
 * The parse engine, Node-free: holds a loaded model package and answers prompts on volumes by composing the stages
 * of src/tasks/stages in order: plan the prompts, prepare the volume, run each network, decode its
 * output onto the input grid, decide presence, answer the prompts. Writing the results is the
 * caller's (results.ts, result-folder.ts), so the CLI, the service and a library user share all of it.
 */
import { MedparseError } from '../core/errors.js';
import type { ProgressCallback } from '../core/progress.js';
import type { Volume } from '../core/volume.js';
import type { VolumeHeader } from '../io/admit.js';
import { rowWithheldReason, type ModelPackage, type NetworkSpec } from '../runtime/model-spec.js';
import type { NetworkOpener, NetworkSession, RuntimeOptions } from '../runtime/network-session.js';
import { scanTraits, type ScanTraits } from '../runtime/scan-scope.js';
import { parsePrompts } from '../vocab/parser.js';
import type { ParsedPrompt } from '../vocab/types.js';
import type { Vocabulary } from '../vocab/vocabulary.js';
import { resolveModality } from './modality.js';
import type { OrientationSearchReport, ParseResult } from './results.js';
import { answerPrompts } from './stages/answer.js';
import { decodeNetworkOutput } from './stages/decode.js';
import { answerKey, decideRows, gateOnAnchors, type QueryAnswers } from './stages/decide.js';
import { withLandmarkRows } from './stages/groups.js';
import { inferNetwork } from './stages/infer.js';
import { conceptPrompt, planRequest } from './stages/plan.js';
import { DEFAULT_BATCH_SIZE } from '../runtime/sliding-window.js';
import type { ImagingModality } from '../runtime/model-spec.js';
import {
  checkHeaderMemory,
  estimateRequestBytes,
  prepareVolume,
  windowBytes,
  type MemoryGrid,
} from './stages/prepare.js';

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

/** A scan as its header describes it, before its voxels are read: what a memory estimate needs. */
export interface ScanGrid extends MemoryGrid {
  /** CT or MR when the file says so; otherwise both are planned and the larger need is taken. */
  modality?: ImagingModality;
}

/** What a request would hold at its peak, in bytes. */
export interface MemoryEstimate {
  /** The scan, its working copies and the maps on each network's grid (prepare.ts, as the Node engine's limit). */
  volumes: number;
  /** The sliding windows' tensors (prepare.ts windowBytes). */
  windows: number;
  total: number;
}

export interface ParseOptions {
  /** CT or MR; by default from the file's metadata, else guessed from its values. */
  modality?: string;
}

/**
 * Loads a model package once and answers prompts on volumes with it. Networks open lazily (only
 * those the prompts need) and stay open for later requests; call dispose() when done.
 */
export class EngineCore {
  readonly model: ModelPackage;
  readonly vocabulary: Vocabulary;
  private readonly options: EngineOptions;
  private readonly openNetwork: NetworkOpener;
  private readonly sessions = new Map<string, Promise<NetworkSession>>();

  protected constructor(
    model: ModelPackage,
    vocabulary: Vocabulary,
    options: EngineOptions,
    openNetwork: NetworkOpener,
  ) {
    this.model = model;
    this.vocabulary = vocabulary;
    this.options = options;
    this.openNetwork = openNetwork;
  }

  /**
   * An engine on a loaded package and vocabulary, opening networks with a platform's opener
   * (onnxruntime-node in engine.ts, onnxruntime-web in the browser worker).
   */
  static create(
    model: ModelPackage,
    vocabulary: Vocabulary,
    options: EngineOptions,
    openNetwork: NetworkOpener,
  ): EngineCore {
    EngineCore.checkConcepts(model, vocabulary);
    return new EngineCore(model, vocabulary, options, openNetwork);
  }

  /** Refuses a package whose networks name concepts the vocabulary does not know. */
  protected static checkConcepts(model: ModelPackage, vocabulary: Vocabulary): void {
    for (const network of model.networks) {
      const unknown = network.concepts.filter((c) => !vocabulary.get(c.id)).map((c) => c.id);
      if (unknown.length) {
        throw new MedparseError(
          'CORRUPT_FILE',
          `network ${network.id} names concepts the vocabulary does not know: ${unknown.join(', ')}`,
          `${model.dir}/model.json`,
        );
      }
    }
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
    return this.segmentConcepts(volume, this.recognizedIds(modality, scanTraits(volume)), options);
  }

  /** The concepts recognize answers for a modality on this scan. */
  private recognizedIds(modality: ImagingModality, scan: ScanTraits): string[] {
    const ids = this.model.networks
      .filter((n) => n.modalities.includes(modality))
      .flatMap((n) =>
        n.concepts.filter((c) => this.options.experimental || !rowWithheldReason(n, c, scan)).map((c) => c.id),
      );
    return [...new Set(ids)];
  }

  /**
   * The memory a request would need on a scan known only from its header, before any voxel is read:
   * the engine's own plan for it, sized by prepare.ts (the estimate the Node engine holds to its limit)
   * plus the networks' windows. A browser checks it against what a tab can hold.
   */
  estimateMemory(
    grid: ScanGrid,
    request: { task: 'segment' | 'detect' | 'recognize'; prompts: string },
  ): MemoryEstimate {
    const volume = gridVolume(grid);
    const keepIslands = this.options.keepIslands === true;
    const estimates = (grid.modality ? [grid.modality] : (['CT', 'MR'] as const)).map((modality) => {
      const prompts =
        request.task === 'recognize'
          ? this.recognizedIds(modality, scanTraits(volume)).map((id) => conceptPrompt(this.vocabulary, id))
          : parsePrompts(request.prompts, this.vocabulary);
      const plan = planRequest(volume, prompts, {
        vocabulary: this.vocabulary,
        model: this.model,
        experimental: this.options.experimental,
        modality,
      });
      const volumes = estimateRequestBytes(grid, plan, keepIslands);
      const windows = windowBytes(plan, this.options.batchSize ?? DEFAULT_BATCH_SIZE, keepIslands);
      return { volumes, windows, total: volumes + windows };
    });
    return estimates.reduce((a, b) => (b.total > a.total ? b : a));
  }

  /** Answers vocabulary concept ids directly (no text parsing): for recognition and evaluation. */
  async segmentConcepts(volume: Volume, ids: string[], options: ParseOptions = {}): Promise<ParseResult> {
    const prompts = ids.map((id) => conceptPrompt(this.vocabulary, id));
    return this.run(volume, prompts, options);
  }

  /**
   * The memory check made from an image's header, before its voxels are read (pass it to readVolume
   * as `checkHeader`), so a header declaring a volume too large for the limit is refused unread.
   */
  readonly checkHeader = (header: VolumeHeader): void => {
    checkHeaderMemory(header, this.options);
  };

  async dispose(): Promise<void> {
    // a network that failed to load (a bad checksum) has nothing to release
    for (const session of this.sessions.values()) await (await session.catch(() => undefined))?.dispose();
    this.sessions.clear();
  }

  private async run(volume: Volume, prompts: ParsedPrompt[], options: ParseOptions): Promise<ParseResult> {
    const timings: Record<string, number> = {};
    const add = (stage: string, ms: number) => (timings[stage] = (timings[stage] ?? 0) + ms);
    const orientationSearch: OrientationSearchReport[] = [];
    const { vocabulary, model } = this;
    const plan = planRequest(volume, prompts, {
      vocabulary,
      model,
      experimental: this.options.experimental,
      modality: options.modality,
    });
    const physical = prepareVolume(volume, plan, this.options);
    const stageOptions = { vocabulary, keepIslands: this.options.keepIslands };
    const answers: QueryAnswers = new Map();
    for (const [network, rows] of plan.queries) {
      // the landmarks are run and judged beside the prompted rows; only the prompted rows are answered
      const runRows = withLandmarkRows(network, rows);
      const output = await inferNetwork(
        physical,
        network,
        runRows,
        plan.modality,
        await this.session(network),
        this.options,
      );
      add('preprocess', output.timings.preprocess);
      add('inference', output.timings.inference);
      if (output.orientationSearch) orientationSearch.push(output.orientationSearch);
      let started = performance.now();
      const decoded = decodeNetworkOutput(output, physical, plan.modality, stageOptions);
      add('decode', performance.now() - started);
      started = performance.now();
      gateOnAnchors(decideRows(decoded, plan.modality), runRows, network)
        .slice(0, rows.length)
        .forEach((answer, q) => answers.set(answerKey(network.id, rows[q]), answer));
      add('decide', performance.now() - started);
    }
    const started = performance.now();
    const results = answerPrompts(plan, physical, answers, stageOptions);
    add('postprocess', performance.now() - started);
    return {
      input: volume,
      modality: plan.modality,
      modalitySource: plan.modalitySource,
      model: { name: model.name, version: model.version, networks: [...plan.queries.keys()].map((n) => n.id) },
      prompts: results,
      orientationSearch,
      timings,
    };
  }

  private session(network: NetworkSpec): Promise<NetworkSession> {
    let session = this.sessions.get(network.id);
    if (!session) {
      session = this.openNetwork(network, this.options);
      this.sessions.set(network.id, session);
    }
    return session;
  }
}

/**
 * A stand-in volume with a header's grid and no voxels, for planning only: a plan reads the grid (the
 * scan's scope) and, given the modality, never the voxels.
 */
function gridVolume(grid: ScanGrid): Volume {
  const [x, y, z] = grid.spacing;
  return {
    dims: grid.dims,
    affine: [x, 0, 0, 0, 0, y, 0, 0, 0, 0, z, 0, 0, 0, 0, 1],
    spacing: grid.spacing,
    data: new Uint8Array(0),
    meta: { sourceFormat: 'generated', modality: grid.modality ?? 'unknown' },
  };
}
