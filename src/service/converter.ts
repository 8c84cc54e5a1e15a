/**
 * Where POST /v1/convert decodes uploads: a worker process of its own (the job workers' entry and pool,
 * started on the first conversion, its model never loaded), so reading a whole CT or DICOM series
 * neither holds the server's event loop nor waits behind a running job. Conversions take turns.
 */
import type { ConvertOrder } from './run-job.js';
import { WorkerPool, type PoolOutcome } from './worker-pool.js';

export class Converter {
  private pool: WorkerPool | undefined;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly modelDir: string) {}

  convert(order: ConvertOrder): Promise<PoolOutcome> {
    const outcome = this.turn.then(() => {
      this.pool ??= new WorkerPool({ size: 1, modelDir: this.modelDir, threads: 1 });
      return this.pool.convert(order);
    });
    this.turn = outcome.catch(() => undefined);
    return outcome;
  }

  /** The conversion worker's process id (for operators and tests); undefined before the first conversion. */
  get pid(): number | undefined {
    return this.pool?.pids[0];
  }

  /** Whether a conversion is with the worker now. */
  get busy(): boolean {
    return this.pool !== undefined && this.pool.idle === 0;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
