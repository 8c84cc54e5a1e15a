/**
 * Scale-out: with --redis, jobs travel through BullMQ, and `medparse worker` processes on any
 * machine that shares the data folder take them. Job state stays in the data folder (job.json), so
 * the API answers the same whichever queue carries the job; BullMQ only decides who runs what, and
 * takes a job back from a worker that died (its lock expires and another worker runs it again).
 */
import { Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { JobExecutor } from './job-executor.js';
import type { JobQueue } from './job-queue.js';
import type { JobStore } from './job-store.js';
import { WorkerPool } from './worker-pool.js';

export const QUEUE_NAME = 'medparse-jobs';

export interface BullOptions {
  redisUrl: string;
  /** Runs of one job before it is failed; job.json counts them, BullMQ only carries the job again. */
  maxAttempts: number;
  /** How long a finished BullMQ entry stays in Redis (the job itself stays in the data folder). */
  keepHours: number;
}

function connect(url: string): Redis {
  // BullMQ workers block on Redis and need commands that wait forever rather than fail
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** The server's side: hands jobs to BullMQ and records jobs that BullMQ gave up on. */
export class BullQueue implements JobQueue {
  private readonly connection: Redis;
  private readonly queue: Queue;
  private readonly events: QueueEvents;

  constructor(
    private readonly store: JobStore,
    private readonly options: BullOptions,
  ) {
    this.connection = connect(options.redisUrl);
    this.queue = new Queue(QUEUE_NAME, { connection: this.connection });
    this.events = new QueueEvents(QUEUE_NAME, { connection: connect(options.redisUrl) });
  }

  async start(): Promise<void> {
    await this.queue.waitUntilReady();
    await this.events.waitUntilReady();
    // a job whose worker died more often than allowed never reaches a worker again: record why
    this.events.on('failed', ({ jobId, failedReason }) => {
      void this.store.update(jobId, () => ({
        state: 'failed',
        finishedAt: new Date().toISOString(),
        error: { code: 'GAVE_UP', message: failedReason },
      }));
    });
  }

  async enqueue(id: string): Promise<void> {
    await this.queue.add(
      'parse',
      { id },
      {
        jobId: id,
        // the executor decides when to give up (job.json's attempts); BullMQ must not decide first
        attempts: this.options.maxAttempts + 1,
        backoff: { type: 'fixed', delay: 500 },
        removeOnComplete: { age: this.options.keepHours * 3600 },
        removeOnFail: { age: this.options.keepHours * 3600 },
      },
    );
  }

  async cancel(id: string): Promise<void> {
    const job = await this.queue.getJob(id);
    // a waiting job leaves the queue; a running one is ended by its worker, which watches the cancel marker
    if (job && ((await job.isWaiting()) || (await job.isDelayed()))) await job.remove().catch(() => undefined);
  }

  async depth(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'prioritized', 'paused');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
    this.connection.disconnect();
  }
}

export interface BullWorkerOptions extends BullOptions {
  workers: number;
  modelDir: string;
  /** How soon a job of a dead worker is taken up again (BullMQ's lock duration), ms. */
  lockMs: number;
}

/** `medparse worker`: runs BullMQ's jobs on this machine's worker processes. */
export class BullWorker {
  private readonly pool: WorkerPool;
  private readonly worker: Worker;

  constructor(store: JobStore, options: BullWorkerOptions) {
    this.pool = new WorkerPool({ size: options.workers, modelDir: options.modelDir });
    const executor = new JobExecutor(store, this.pool, options.maxAttempts);
    this.worker = new Worker(
      QUEUE_NAME,
      async (job) => {
        const id = (job.data as { id: string }).id;
        const result = await executor.attempt(id);
        if (result === 'retry') throw new Error(`job ${id}: the attempt failed; it runs again`);
        if (result === 'failed') throw new UnrecoverableError(store.read(id)?.error?.message ?? 'failed');
        return result;
      },
      {
        connection: connect(options.redisUrl),
        concurrency: options.workers,
        lockDuration: options.lockMs,
        stalledInterval: options.lockMs,
        maxStalledCount: options.maxAttempts,
      },
    );
  }

  async start(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.worker.close(true);
    await this.pool.close();
  }
}
