/**
 * A fixed number of worker processes (child_process.fork), each running one job at a time and
 * keeping its model loaded between jobs. A worker that dies is replaced; the job it held is
 * reported as crashed so that the caller can retry or fail it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ProgressEvent } from '../core/progress.js';
import type { JobError } from './job-store.js';
import type { ConvertOrder, RunJobOrder } from './run-job.js';
import type { ChildMessage, ParentMessage } from './worker-child.js';

const CHILD_ENTRY = fileURLToPath(new URL('./worker-child.js', import.meta.url));

export type PoolOutcome =
  | { kind: 'done'; files: string[] }
  | { kind: 'failed'; error: JobError; retryable: boolean }
  /** The worker process ended mid-job: killed, out of memory, a native crash. */
  | { kind: 'crashed'; reason: string }
  /** kill() was asked for this job. */
  | { kind: 'killed' };

interface Running {
  jobId: string;
  onProgress: (event: ProgressEvent) => void;
  resolve: (outcome: PoolOutcome) => void;
  killRequested: boolean;
}

interface Slot {
  child: ChildProcess;
  running: Running | undefined;
}

export interface WorkerPoolOptions {
  size: number;
  modelDir: string;
  /** onnxruntime threads per worker (default: the cores shared out among the workers). */
  threads?: number;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  get idle(): number {
    return this.slots.filter((s) => !s.running).length;
  }

  /** Process ids of the workers, busy or idle. */
  get pids(): number[] {
    return this.slots.flatMap((s) => (s.child.pid === undefined ? [] : [s.child.pid]));
  }

  /** Process id of the worker running a job (for operators and tests), undefined when it is not running. */
  pidOf(jobId: string): number | undefined {
    return this.slots.find((s) => s.running?.jobId === jobId)?.child.pid;
  }

  /** Runs a job on an idle worker; call only when idle > 0. */
  run(order: RunJobOrder, onProgress: (event: ProgressEvent) => void): Promise<PoolOutcome> {
    return this.dispatch({ type: 'run', order }, onProgress);
  }

  /** Converts an upload to NIfTI on an idle worker (POST /v1/convert); call only when idle > 0. */
  convert(order: ConvertOrder): Promise<PoolOutcome> {
    return this.dispatch({ type: 'convert', order }, () => {});
  }

  private dispatch(message: ParentMessage, onProgress: (event: ProgressEvent) => void): Promise<PoolOutcome> {
    const slot = this.slots.find((s) => !s.running);
    if (!slot) return Promise.reject(new Error(`no idle worker: ${message.type} asked with every worker busy`));
    return new Promise((resolve) => {
      slot.running = { jobId: message.order.jobId, onProgress, resolve, killRequested: false };
      slot.child.send(message);
    });
  }

  /** Ends the job by ending its worker process (a fresh one takes its place); false when not running here. */
  kill(jobId: string): boolean {
    const slot = this.slots.find((s) => s.running?.jobId === jobId);
    if (!slot?.running) return false;
    slot.running.killRequested = true;
    slot.child.kill('SIGKILL');
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.child.exitCode !== null || slot.child.signalCode !== null) return resolve();
            slot.child.once('exit', () => resolve());
            slot.child.kill('SIGKILL');
          }),
      ),
    );
  }

  private spawn(): Slot {
    const threads = this.options.threads ?? defaultThreads(this.options.size);
    const child = fork(CHILD_ENTRY, [], {
      env: {
        ...process.env,
        MEDPARSE_WORKER_MODEL: this.options.modelDir,
        MEDPARSE_WORKER_THREADS: String(threads),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const slot: Slot = { child, running: undefined };
    child.on('message', (message: ChildMessage) => this.onMessage(slot, message));
    child.on('exit', (code, signal) => this.onExit(slot, code, signal));
    // a send to a worker that just died fails; its exit handler already deals with the job
    child.on('error', () => {});
    return slot;
  }

  private onMessage(slot: Slot, message: ChildMessage): void {
    const running = slot.running;
    if (!running || message.type === 'ready' || message.jobId !== running.jobId) return;
    if (message.type === 'progress') {
      running.onProgress(message.event);
      return;
    }
    slot.running = undefined;
    const outcome = message.outcome;
    running.resolve(
      outcome.ok
        ? { kind: 'done', files: outcome.files }
        : { kind: 'failed', error: outcome.error, retryable: outcome.retryable },
    );
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    const running = slot.running;
    slot.running = undefined;
    const index = this.slots.indexOf(slot);
    if (!this.closed && index >= 0) this.slots[index] = this.spawn();
    if (!running) return;
    if (running.killRequested) running.resolve({ kind: 'killed' });
    else running.resolve({ kind: 'crashed', reason: signal ? `killed by ${signal}` : `exited with code ${code}` });
  }
}

function defaultThreads(workers: number): number {
  return Math.max(1, Math.floor(availableCores() / workers));
}

export function availableCores(): number {
  return Math.max(1, availableParallelism());
}
