import type { ProgressCallback, ProgressEvent } from '../core/progress.js';

/** What every long library call takes: where to report progress, and a signal that cancels it. */
export interface CallOptions {
  /** Called with the stage and how far through it the call is (0..1). */
  onProgress?: ProgressCallback;
  /**
   * Cancels the call: it rejects with the signal's reason (an AbortError unless one was given) at the
   * next point where work can stop (between stages, and between batches of network patches).
   */
  signal?: AbortSignal;
}

/**
 * A progress callback that first checks the signal. The pipeline reports progress between its steps and
 * between batches of patches, so throwing here stops a call there without the pipeline knowing of signals.
 */
export function cancellable(options: CallOptions): ProgressCallback {
  return (event: ProgressEvent) => {
    options.signal?.throwIfAborted();
    options.onProgress?.(event);
  };
}
