/** What the HTTP layer needs from a queue; the embedded pool and BullMQ both provide it. */
export interface JobQueue {
  /** Picks up the jobs the data folder already holds (embedded) or connects (BullMQ). */
  start(): Promise<void>;
  /** Hands a job whose job.json is written to the workers. */
  enqueue(id: string): Promise<void>;
  /** Stops a queued or running job; its cancel marker is already written. */
  cancel(id: string): Promise<void>;
  /** Jobs waiting for a worker. */
  depth(): Promise<number>;
  close(): Promise<void>;
}
