/** What the page and the engine worker (engine-worker.ts) send each other. */
import type { ProgressEvent } from '../core/progress.js';
import type { LabelTable } from '../io/label-legend.js';
import type { Report } from '../tasks/report-types.js';
import type { TaskName } from '../tasks/result-files.js';

export type BrowserTask = TaskName;

/**
 * The single image files the in-browser engine reads (src/io/read-bytes.ts): one file holding header and
 * voxels. Anything else is read as DICOM (files, a folder's files, or one .zip), also in the browser.
 */
export const BROWSER_READABLE = /\.(nii|nii\.gz|mgh|mgz|nrrd|mha)$/i;

/** Whether the in-browser engine reads these files as a DICOM series (not one single-file image). */
export function isDicomScan(files: readonly { name: string }[]): boolean {
  return !(files.length === 1 && BROWSER_READABLE.test(files[0].name));
}

/**
 * Why the in-browser mode cannot run these files, or undefined when it can: said before anything runs,
 * with what to do instead. Only a header whose voxels are in a file of their own is refused.
 */
export function browserRefusal(files: readonly { name: string }[]): string | undefined {
  if (files.length === 1 && /\.(nhdr|mhd)$/i.test(files[0].name))
    return `${files[0].name} keeps its voxels in a separate file, which the in-browser mode cannot read: uncheck "Run in this browser" to run it on the server, or save it as one .nrrd or .mha file`;
  return undefined;
}

/**
 * One file of the scan as the page hands it over (transferred, not copied): its name, with the folder's
 * path below the one chosen when a folder was (webkitRelativePath), and its bytes.
 */
export interface ScanFile {
  name: string;
  bytes: ArrayBuffer;
}

/** Read a DICOM series in the worker for the page to show (as NIfTI bytes), nothing uploaded. */
export interface OpenRequest {
  type: 'open';
  files: ScanFile[];
  /** The scan's name, for messages (the file, or the folder of a series). */
  scanName: string;
  /** SeriesInstanceUID to read when the files hold several series (the reader's --series). */
  series?: string;
}

/** One series of several in the files: what the page lists for the user to choose from. */
export interface SeriesChoice {
  uid: string;
  /** Modality, description, images and grid, as `medparse info` lists it. */
  label: string;
}

export interface RunRequest {
  type: 'run';
  /** The served viewer's origin (or the API base): model files, vocabulary and .wasm come from there. */
  base: string;
  headers: Record<string, string>;
  /** The scan as the user chose it: one image file (see BROWSER_READABLE), or a DICOM series' files or .zip. */
  files: ScanFile[];
  /** The scan's name, for messages (the file, or the folder of a series). */
  scanName: string;
  /** The series chosen when the files hold several. */
  series?: string;
  task: BrowserTask;
  prompts: string;
  /** Whether the networks may run on the GPU (WebGPU) where the browser has one: the viewer's setting. */
  gpu: boolean;
}

/**
 * Where onnxruntime-web runs the networks: on WebGPU (the adapter's vendor and architecture, for the
 * status line) or on WebAssembly, with why not on the GPU.
 */
export type Backend = { kind: 'webgpu'; adapter: string } | { kind: 'wasm'; why: string };

/** One prompt's answer in numbers to compare with the Node engine's (its mask is label value index + 1 of `labels`). */
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
}

export type WorkerMessage =
  /**
   * threads: onnxruntime-web's WebAssembly threads (1 unless the page is cross-origin isolated);
   * backend: where the networks run (known once the engine has loaded).
   */
  | { type: 'progress'; progress: ProgressEvent; threads: number; backend?: Backend }
  | {
      type: 'done';
      answers: BrowserAnswer[];
      /** The answers as one label map on the input grid (x fastest), value i + 1 for answer i. */
      labels: Uint16Array;
      dims: [number, number, number];
      modality: string;
      timings: Record<string, number>;
      threads: number;
      backend: Backend;
      /** report.json as the Node engine's results folder has it (task, input, prompts with their instances). */
      report: Report;
      /** labels.json's legend of labels.nii.gz (the report's `label_value`s). */
      table: LabelTable;
      /** The results folder's files by name (report.json, labels.nii.gz, labels.json, masks), to download. */
      files: Array<{ name: string; bytes: ArrayBuffer }>;
    }
  /** The DICOM series of an OpenRequest as an uncompressed NIfTI (.nii), for NiiVue. */
  | { type: 'opened'; nifti: ArrayBuffer }
  /** The files of an OpenRequest hold several series and none was chosen: the page asks which. */
  | { type: 'choose-series'; message: string; choices: SeriesChoice[] }
  | { type: 'error'; message: string };
