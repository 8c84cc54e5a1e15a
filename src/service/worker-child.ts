/**
 * Entry point of a worker process (forked by WorkerPool). It runs one job at a time on orders from
 * its parent and reports progress and the outcome over the IPC channel. A crash here (out of
 * memory, a native abort) ends only this process; the parent notices and decides what happens to
 * the job. When the parent goes away (even by kill -9) the channel closes and this process exits.
 */
import type { ProgressEvent } from '../core/progress.js';
import { EngineCache, runConvert, runJob, type ConvertOrder, type RunJobOrder, type RunJobOutcome } from './run-job.js';

export type ParentMessage = { type: 'run'; order: RunJobOrder } | { type: 'convert'; order: ConvertOrder };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; jobId: string; event: ProgressEvent }
  | { type: 'outcome'; jobId: string; outcome: RunJobOutcome };

/**
 * Reports to the parent; with the parent gone this process stops here, before the job writes any
 * result (runJob reports the write stage first), so an orphan never writes beside the worker that
 * took its job over.
 */
function send(message: ChildMessage): void {
  if (!process.connected) process.exit(0);
  process.send?.(message);
}

function main(): void {
  const modelDir = process.env.MEDPARSE_WORKER_MODEL;
  const threads = process.env.MEDPARSE_WORKER_THREADS ? Number(process.env.MEDPARSE_WORKER_THREADS) : undefined;
  if (!modelDir || !process.send) {
    console.error('medparse worker process: started without its parent; it is started by medparse serve');
    process.exit(2);
  }
  const engines = new EngineCache(modelDir, threads);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ParentMessage) => {
    const { order } = message;
    const work =
      message.type === 'convert'
        ? runConvert(message.order)
        : runJob(message.order, engines, (event) => send({ type: 'progress', jobId: order.jobId, event }));
    void work.then((outcome) => send({ type: 'outcome', jobId: order.jobId, outcome }));
  });
  send({ type: 'ready' });
}

main();
