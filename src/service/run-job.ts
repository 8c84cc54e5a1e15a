/**
 * One job's work, as the CLI does it: read the upload with medparse's readers (which also decide
 * whether it is an image at all), parse it, and write the results folder. Runs inside a worker
 * process, never in the server.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { isMedparseError } from '../core/errors.js';
import { packageVersion } from '../core/paths.js';
import type { ProgressCallback } from '../core/progress.js';
import { readVolume } from '../io/read.js';
import { encodeNifti } from '../io/write-nifti.js';
import { ParseEngine } from '../tasks/engine.js';
import { writeResults } from '../tasks/output-folder.js';
import type { JobError, JobInput, JobRequest } from './job-store.js';

export interface RunJobOrder {
  jobId: string;
  jobDir: string;
  request: JobRequest;
  input: JobInput;
}

/** POST /v1/convert's work: the upload in `jobDir` read and written there as CONVERTED_FILE. */
export interface ConvertOrder {
  /** The upload's id (matches the worker's answer to the order). */
  jobId: string;
  jobDir: string;
  input: JobInput;
  choice: Pick<JobRequest, 'volume' | 'series'>;
}

export const CONVERTED_FILE = 'image.nii.gz';

export type RunJobOutcome = { ok: true; files: string[] } | { ok: false; error: JobError; retryable: boolean };

/**
 * Keeps engines loaded between jobs (loading the model and opening networks is the slow part), one
 * per combination of the options that are fixed at load.
 */
export class EngineCache {
  private readonly engines = new Map<string, ParseEngine>();
  private progress: ProgressCallback | undefined;

  constructor(
    private readonly modelDir: string,
    private readonly threads: number | undefined,
  ) {}

  get(request: JobRequest, onProgress: ProgressCallback): ParseEngine {
    this.progress = onProgress;
    const key = `${request.keepIslands}|${request.experimental}`;
    let engine = this.engines.get(key);
    if (!engine) {
      engine = ParseEngine.load(this.modelDir, {
        threads: this.threads,
        keepIslands: request.keepIslands,
        experimental: request.experimental,
        onProgress: (event) => this.progress?.(event),
      });
      this.engines.set(key, engine);
    }
    return engine;
  }

  async dispose(): Promise<void> {
    for (const engine of this.engines.values()) await engine.dispose();
    this.engines.clear();
  }
}

export async function runJob(
  order: RunJobOrder,
  engines: EngineCache,
  onProgress: ProgressCallback,
): Promise<RunJobOutcome> {
  const { request } = order;
  try {
    const engine = engines.get(request, onProgress);
    onProgress({ stage: 'read', fraction: 0 });
    const volume = await readVolume(join(order.jobDir, order.input.path), {
      volume: request.volume,
      series: request.series,
      // an upload's header is checked against the memory limit before its voxels are read
      checkHeader: engine.checkHeader,
    });
    onProgress({ stage: 'read', fraction: 1 });
    const options = { modality: request.modality };
    const result =
      request.task === 'recognize'
        ? await engine.recognize(volume, options)
        : await engine.segment(volume, request.prompts ?? '', options);
    onProgress({ stage: 'write', fraction: 0 });
    const files = await writeResults(join(order.jobDir, 'output'), result, engine.vocabulary, {
      task: request.task,
      dicomSeg: request.dicomSeg,
      preview: true,
      // a retried job replaces what an interrupted run left
      force: true,
      medparseVersion: packageVersion(),
    });
    onProgress({ stage: 'write', fraction: 1 });
    return { ok: true, files };
  } catch (error) {
    return describeFailure(error, order.jobDir);
  }
}

/** Reads the upload with medparse's readers and writes it as NIfTI (gzip level 1: it is sent once). */
export async function runConvert(order: ConvertOrder): Promise<RunJobOutcome> {
  try {
    const volume = await readVolume(join(order.jobDir, order.input.path), order.choice);
    await writeFile(join(order.jobDir, CONVERTED_FILE), await gzipAsync(encodeNifti(volume), { level: 1 }));
    return { ok: true, files: [CONVERTED_FILE] };
  } catch (error) {
    return describeFailure(error, order.jobDir);
  }
}

const gzipAsync = promisify(gzip);

/** The input's own problems fail the job at once; anything else may be the machine's and is retried. */
function describeFailure(error: unknown, jobDir: string): RunJobOutcome {
  const message = error instanceof Error ? error.message : String(error);
  // the job folder is the server's business: the client sees paths relative to its job
  const relative = message.split(`${jobDir}/`).join('');
  if (isMedparseError(error)) return { ok: false, error: { code: error.code, message: relative }, retryable: false };
  return { ok: false, error: { code: 'INTERNAL', message: relative }, retryable: true };
}

/** Kept for the service's imports; the version is read in src/core/paths.ts. */
export { packageVersion };
