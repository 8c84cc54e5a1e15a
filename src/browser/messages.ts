/** What the page and the engine worker (engine-worker.ts) send each other. */
import type { ProgressEvent } from '../core/progress.js';

export type BrowserTask = 'segment' | 'recognize';

export interface RunRequest {
  type: 'run';
  /** The served viewer's origin (or the API base): model files, vocabulary and .wasm come from there. */
  base: string;
  headers: Record<string, string>;
  /** The scan as the user chose it: a .nii or .nii.gz file's bytes (transferred, not copied). */
  file: ArrayBuffer;
  fileName: string;
  task: BrowserTask;
  prompts: string;
}

/** One prompt's answer: what the list shows and what the overlay draws (label value = index + 1). */
export interface BrowserAnswer {
  text: string;
  status: string;
  score: number | null;
  notes: string[];
  suggestions: string[];
  /** Voxels in the mask (probability > 0 on the input grid); 0 when absent. */
  voxels: number;
  /** Sum of the 0..255 probabilities: equal masks and equal maps give equal sums. */
  probabilitySum: number;
  volumeMl: number | null;
  /** The concept's colour from the vocabulary (as labels.json gives it); null when nothing was drawn. */
  color: [number, number, number] | null;
}

export type WorkerMessage =
  | { type: 'progress'; progress: ProgressEvent }
  | {
      type: 'done';
      answers: BrowserAnswer[];
      /** The answers as one label map on the input grid (x fastest), value i + 1 for answer i. */
      labels: Uint16Array;
      dims: [number, number, number];
      modality: string;
      timings: Record<string, number>;
    }
  | { type: 'error'; message: string };
