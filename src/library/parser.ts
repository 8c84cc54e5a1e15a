import { MedparseError } from '../core/errors.js';
import { DEFAULT_MODEL_DIR } from '../core/paths.js';
import type { ProgressEvent } from '../core/progress.js';
import type { Volume } from '../core/volume.js';
import { ParseEngine } from '../tasks/engine.js';
import type { Instance, ParseResult } from '../tasks/results.js';
import type { ParsedPrompt } from '../vocab/index.js';
import { parsePrompts } from '../vocab/index.js';
import { cancellable, type CallOptions } from './abort.js';
import { summarizeModel, type ModelSummary } from './models.js';

export interface LoadParserOptions {
  /** A model package folder (with model.json); default: the model shipped with medparse. */
  model?: string;
  /** CPU threads for the networks (default: the cores, at most 8). */
  threads?: number;
  /** Refuse images estimated to need more memory than this (GB; default 75 % of the machine's). */
  memoryLimitGb?: number;
  /** Keep the networks' raw masks, stray islands included (default false). */
  keepIslands?: boolean;
  /** Also answer concepts the model withholds (measured not to work), each with a note (default false). */
  experimental?: boolean;
}

export interface RunOptions extends CallOptions {
  /** 'CT' or 'MR'; by default from the image's metadata, else guessed from its values. */
  modality?: 'CT' | 'MR';
}

/** One object found by detect: an instance of a present prompt's mask. */
export interface Detection extends Instance {
  /** The prompt it answers, as written. */
  prompt: string;
  conceptId: string;
  conceptName: string;
}

export interface DetectResult extends ParseResult {
  /** Every instance of every present prompt, in prompt order. */
  detections: Detection[];
}

/**
 * A loaded model that answers prompts on volumes. Networks open on first use and stay open for later
 * calls; calls on one parser run one after another. Call dispose() when done.
 */
export class Parser {
  readonly model: ModelSummary;
  private readonly engine: ParseEngine;
  /** The running call's options: the engine reports progress through one callback fixed at load. */
  private current: RunOptions = {};
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(load: (onProgress: (event: ProgressEvent) => void) => ParseEngine) {
    this.engine = load((event) => cancellable(this.current)(event));
    this.model = summarizeModel(this.engine.model);
  }

  /** Loads a model package (default: the one shipped with medparse); the same as loadParser. */
  static async load(options: LoadParserOptions = {}): Promise<Parser> {
    return new Parser((onProgress) =>
      ParseEngine.load(options.model ?? DEFAULT_MODEL_DIR, {
        threads: options.threads,
        memoryLimitGb: options.memoryLimitGb,
        keepIslands: options.keepIslands,
        experimental: options.experimental,
        onProgress,
      }),
    );
  }

  /** One mask per prompt, with volume, intensity statistics, instances and a presence decision. */
  async segment(volume: Volume, prompts: string | string[], options: RunOptions = {}): Promise<ParseResult> {
    const text = promptText(prompts);
    return this.serialized(options, () => this.engine.segment(volume, text, { modality: options.modality }));
  }

  /** As segment, with every instance (connected object) of the present prompts listed as a detection. */
  async detect(volume: Volume, prompts: string | string[], options: RunOptions = {}): Promise<DetectResult> {
    const result = await this.segment(volume, prompts, options);
    const detections = result.prompts.flatMap((p) =>
      p.status === 'present' && p.concept
        ? (p.instances ?? []).map((i) => ({
            ...i,
            prompt: p.text,
            conceptId: p.concept!.id,
            conceptName: p.concept!.name,
          }))
        : [],
    );
    return { ...result, detections };
  }

  /** Everything the model knows for the image's modality, each answered present or absent. */
  async recognize(volume: Volume, options: RunOptions = {}): Promise<ParseResult> {
    return this.serialized(options, () => this.engine.recognize(volume, { modality: options.modality }));
  }

  /** How this parser's vocabulary reads a prompt text, prompt by prompt. */
  resolvePrompts(text: string): ParsedPrompt[] {
    return parsePrompts(text, this.engine.vocabulary);
  }

  /** Closes the networks. */
  async dispose(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.engine.dispose();
  }

  private serialized<T>(options: RunOptions, work: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      options.signal?.throwIfAborted();
      this.current = options;
      try {
        const result = await work();
        options.signal?.throwIfAborted();
        return result;
      } finally {
        this.current = {};
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** Loads a model package (default: the one shipped with medparse) for segment, detect and recognize. */
export async function loadParser(options: LoadParserOptions = {}): Promise<Parser> {
  return Parser.load(options);
}

function promptText(prompts: string | string[]): string {
  const text = (Array.isArray(prompts) ? prompts : [prompts])
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .join(', ');
  if (!text) throw new MedparseError('INVALID_ARGUMENT', 'no prompts given: pass text such as "liver, spleen"');
  return text;
}
