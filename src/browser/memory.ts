/**
 * The memory check of the in-browser mode (issue 21, item 5), made before a run reads the scan's voxels
 * or opens a network: the engine's own estimate from the header (EngineCore.estimateMemory) against
 * what a browser tab can give the engine.
 */
import type { Dims3 } from '../core/volume.js';
import { MedparseError } from '../core/errors.js';
import type { MemoryEstimate } from '../tasks/engine-core.js';

/** The engine's estimate and what a browser run adds: its results built in the worker, and the scan's files. */
export interface BrowserMemoryEstimate extends MemoryEstimate {
  /** The label map for the page and the result files being encoded (bytes). */
  results: number;
  /** The scan's own files, held by the worker for the whole run (a DICOM series' files are about the scan's size). */
  input: number;
}

/**
 * Bytes per scan voxel the worker's results hold at once (engine-worker.ts and result-files.ts): the
 * page's label map (Uint16Array, 2), mergeLabels' label map (uint8, 1) and its NIfTI encoding (1), and
 * the one answer mask being encoded (1) with its encoding (1).
 */
const RESULT_BYTES_PER_VOXEL = 6;

/** The engine's estimate of a run plus its results, on a scan of `dims` read from `inputBytes` of files. */
export function browserEstimate(engine: MemoryEstimate, dims: Dims3, inputBytes = 0): BrowserMemoryEstimate {
  const results = dims[0] * dims[1] * dims[2] * RESULT_BYTES_PER_VOXEL;
  return { ...engine, results, input: inputBytes, total: engine.total + results + inputBytes };
}

/**
 * 4 GiB. onnxruntime-web's WebAssembly declares its memory (where the network windows, weights and
 * activations live) with at most 65,536 pages of 64 KiB: 4 GiB, the most 32-bit WebAssembly can address
 * (read from ort-wasm-simd-threaded.wasm in test/browser/memory.test.ts). The scan's arrays live beside
 * it in the same tab, and browsers give a tab far less than the machine has, with no number they
 * publish; so the whole estimate is held to this one: a practical limit, on the safe side.
 */
export const BROWSER_MEMORY_LIMIT_BYTES = 4 * 2 ** 30;

/** Refuses, with what to do instead, a run estimated to need more than the limit. */
export function checkBrowserMemory(
  estimate: BrowserMemoryEstimate,
  file: string,
  limit: number = BROWSER_MEMORY_LIMIT_BYTES,
): void {
  if (estimate.total <= limit) return;
  throw new MedparseError(
    'INVALID_ARGUMENT',
    `this run needs about ${gb(estimate.total)} GB in the browser (the scan's files ${gb(estimate.input)} GB, the scan, its working copies and maps ${gb(estimate.volumes)} GB, the networks' windows ${gb(estimate.windows)} GB, the results ${gb(estimate.results)} GB), more than the ${gb(limit)} GB a browser tab can give it; run it on the server (uncheck "Run in this browser"), or crop the scan to the region you need`,
    file,
  );
}

function gb(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}
