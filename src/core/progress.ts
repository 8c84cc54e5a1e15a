/** Progress of a long operation: which stage, and how far through it (0..1). */
export interface ProgressEvent {
  stage: string;
  fraction: number;
  message?: string;
}

export type ProgressCallback = (event: ProgressEvent) => void;

/** Calls `callback` at most once per `every` fraction step so that hot loops can report cheaply. */
export function throttledProgress(
  stage: string,
  callback: ProgressCallback | undefined,
  every = 0.05,
): (fraction: number) => void {
  if (!callback) return () => {};
  let last = -Infinity;
  return (fraction: number) => {
    if (fraction >= 1 || fraction - last >= every) {
      last = fraction;
      callback({ stage, fraction: Math.min(1, fraction) });
    }
  };
}
