/**
 * One attempt at a job: mark it running, run it on a worker process, follow its progress into
 * job.json, end it when it is cancelled, and record how it ended. The embedded scheduler and the
 * BullMQ worker both run jobs through this, so a job behaves the same whichever queue carries it.
 */
import { hostname } from 'node:os';
import type { ProgressEvent } from '../core/progress.js';
import { FINISHED_STATES, type JobError, type JobStore } from './job-store.js';
import type { WorkerPool } from './worker-pool.js';

/** What the queue should do next: nothing (the job is finished), or run it again. */
export type AttemptResult = 'done' | 'failed' | 'cancelled' | 'retry' | 'gone';

const RUNNER = `${hostname()}:${process.pid}`;

/** How often a running job's cancel marker is looked at, and at most how often its progress is written. */
const CANCEL_POLL_MS = 250;
const PROGRESS_WRITE_MS = 250;

export class JobExecutor {
  constructor(
    private readonly store: JobStore,
    private readonly pool: WorkerPool,
    readonly maxAttempts: number,
  ) {}

  async attempt(id: string): Promise<AttemptResult> {
    const record = this.store.read(id);
    if (!record) return 'gone';
    if (FINISHED_STATES.includes(record.state)) return record.state as AttemptResult;
    if (record.attempts >= this.maxAttempts) {
      const last = record.error?.message ?? 'the job was interrupted (server or worker stopped mid-run)';
      await this.fail(id, { code: 'GAVE_UP', message: `gave up after ${record.attempts} attempts; last: ${last}` });
      return 'failed';
    }
    const attempts = record.attempts + 1;
    await this.store.update(id, () => ({
      state: 'running',
      attempts,
      runner: RUNNER,
      startedAt: new Date().toISOString(),
      stage: 'start',
      fraction: 0,
      message: null,
    }));
    const progress = new ProgressWriter(this.store, id);
    const watch = setInterval(() => {
      if (this.store.isCancelled(id)) this.pool.kill(id);
    }, CANCEL_POLL_MS);
    let outcome;
    try {
      outcome = await this.pool.run(
        { jobId: id, jobDir: this.store.dir(id), request: record.request, input: record.input },
        (event) => progress.push(event),
      );
    } finally {
      clearInterval(watch);
      await progress.flush();
    }
    switch (outcome.kind) {
      case 'done':
        await this.store.update(id, () => ({
          state: 'done',
          finishedAt: new Date().toISOString(),
          stage: 'done',
          fraction: 1,
          message: null,
          error: null,
        }));
        return 'done';
      case 'killed':
        await this.store.cancel(id);
        return 'cancelled';
      case 'failed':
        if (!outcome.retryable) {
          await this.fail(id, outcome.error);
          return 'failed';
        }
        return this.retryOrFail(id, attempts, outcome.error);
      case 'crashed':
        return this.retryOrFail(id, attempts, { code: 'WORKER_CRASHED', message: `worker process ${outcome.reason}` });
    }
  }

  private async retryOrFail(id: string, attempts: number, error: JobError): Promise<AttemptResult> {
    if (attempts >= this.maxAttempts) {
      await this.fail(id, { code: error.code, message: `gave up after ${attempts} attempts; last: ${error.message}` });
      return 'failed';
    }
    await this.store.update(id, () => ({ state: 'queued', stage: null, fraction: 0, message: 'retrying', error }));
    return 'retry';
  }

  private async fail(id: string, error: JobError): Promise<void> {
    await this.store.update(id, () => ({ state: 'failed', finishedAt: new Date().toISOString(), error }));
  }
}

/** Writes progress to job.json in order, at most every PROGRESS_WRITE_MS, and always on a new stage. */
class ProgressWriter {
  private chain: Promise<unknown> = Promise.resolve();
  private lastWrite = 0;
  private lastStage: string | undefined;
  private pending: ProgressEvent | undefined;

  constructor(
    private readonly store: JobStore,
    private readonly id: string,
  ) {}

  push(event: ProgressEvent): void {
    const now = Date.now();
    if (event.stage === this.lastStage && now - this.lastWrite < PROGRESS_WRITE_MS && event.fraction < 1) {
      this.pending = event;
      return;
    }
    this.pending = undefined;
    this.lastStage = event.stage;
    this.lastWrite = now;
    this.write(event);
  }

  async flush(): Promise<void> {
    if (this.pending) this.write(this.pending);
    this.pending = undefined;
    await this.chain;
  }

  private write(event: ProgressEvent): void {
    this.chain = this.chain.then(() =>
      this.store.update(this.id, () => ({
        stage: event.stage,
        fraction: Math.max(0, Math.min(1, event.fraction)),
        message: event.message ?? null,
      })),
    );
  }
}
