/**
 * The default queue: jobs wait in the data folder and run on this machine's worker pool. On start
 * it picks up what a previous server left: queued jobs run, interrupted (running) ones run again
 * (each interruption uses one of the job's attempts), finished ones stay as they are.
 */
import type { JobQueue } from './job-queue.js';
import { JobExecutor } from './job-executor.js';
import type { JobStore } from './job-store.js';
import { WorkerPool } from './worker-pool.js';

export interface EmbeddedQueueOptions {
  workers: number;
  modelDir: string;
  maxAttempts: number;
  threads?: number;
}

export class EmbeddedQueue implements JobQueue {
  readonly pool: WorkerPool;
  private readonly executor: JobExecutor;
  private readonly waiting: string[] = [];
  /** Attempts under way; counted here because an attempt takes its worker only after writing job.json. */
  private active = 0;
  private closed = false;

  constructor(
    private readonly store: JobStore,
    options: EmbeddedQueueOptions,
  ) {
    this.pool = new WorkerPool({ size: options.workers, modelDir: options.modelDir, threads: options.threads });
    this.executor = new JobExecutor(store, this.pool, options.maxAttempts);
  }

  /** Queues every job of the data folder that is not finished, oldest first. */
  async start(): Promise<void> {
    const unfinished = this.store
      .list()
      .filter((r) => r.state === 'queued' || r.state === 'running')
      .reverse();
    for (const record of unfinished) this.waiting.push(record.id);
    this.pump();
  }

  async enqueue(id: string): Promise<void> {
    this.waiting.push(id);
    this.pump();
  }

  async cancel(id: string): Promise<void> {
    const index = this.waiting.indexOf(id);
    if (index >= 0) this.waiting.splice(index, 1);
    // a running job's executor sees the cancel marker; killing now saves the wait
    this.pool.kill(id);
  }

  async depth(): Promise<number> {
    return this.waiting.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
  }

  private pump(): void {
    while (!this.closed && this.active < this.pool.size && this.waiting.length > 0) {
      const id = this.waiting.shift() as string;
      this.active++;
      this.executor.attempt(id).then(
        (result) => {
          this.active--;
          if (result === 'retry' && !this.closed) this.waiting.push(id);
          this.pump();
        },
        (error: unknown) => {
          this.active--;
          // a failure to write job.json (disk full): the job stays as it was and is picked up on restart
          console.error(`medparse serve: job ${id}: ${error instanceof Error ? error.message : String(error)}`);
          this.pump();
        },
      );
    }
  }
}
