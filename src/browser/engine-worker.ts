/**
 * The engine in a Web Worker (issue 21, in-browser mode): the scan the page opened is parsed here with
 * medparse's own readers (NIfTI, MGH/MGZ, NRRD, MetaImage and DICOM; src/io/read-bytes.ts) and answered by the
 * same engine as on Node (engine-core.ts), networks run by onnxruntime-web; the results folder's files
 * are built here as on Node (result-files.ts) for the page to offer as downloads. The model package and
 * vocabulary come from the serving origin; the scan never leaves the browser.
 */
import type { ProgressEvent } from '../core/progress.js';
import { encodeNifti } from '../io/nifti-encode.js';
import type { VolumeHeader } from '../io/admit.js';
import { listDicomSeriesFrom, type DicomSeriesOptions } from '../io/dicom/read.js';
import type { DicomSeriesSummary } from '../io/dicom/series.js';
import { memoryDicomInput, type NamedBytes } from '../io/dicom/sources.js';
import { MedparseError } from '../core/errors.js';
import { openDicomBytes, openVolumeBytes, type OpenedBytes } from '../io/read-bytes.js';
import { modelFromManifest } from '../runtime/model-spec.js';
import type { ModelManifest } from '../runtime/model-manifest.js';
import type { ParseResult, PromptResult } from '../tasks/results.js';
import { EngineCore } from '../tasks/engine-core.js';
import { encodeResultFiles } from '../tasks/result-files.js';
import { Vocabulary, validateVocabularyFile } from '../vocab/vocabulary.js';
import {
  isDicomScan,
  type BrowserAnswer,
  type OpenRequest,
  type RunRequest,
  type ScanFile,
  type WorkerMessage,
} from './messages.js';
import { BROWSER_MEMORY_LIMIT_BYTES, browserEstimate, checkBrowserMemory } from './memory.js';
import {
  chooseBackend,
  fetchBytes,
  threadsInUse,
  wasmThreads,
  webNetworkOpener,
  type GpuLike,
  type WebRuntimeSetup,
} from './web-network.js';

/** medparse's version, for report.json: set by the bundler (scripts/build-viewer.ts) from package.json. */
declare const MEDPARSE_VERSION: string;

const post = (message: WorkerMessage, transfer: Transferable[] = []) => self.postMessage(message, { transfer });

self.addEventListener('message', (event: MessageEvent<RunRequest | OpenRequest>) => {
  // onnxruntime-web's bundled build starts each WebAssembly thread as a worker of this same script
  // (import.meta.url, named em-pthread): their messages are its own, not runs
  const request = event.data;
  if (request.type !== 'run' && request.type !== 'open') return;
  (request.type === 'run' ? run(request) : openForPage(request)).catch((error: unknown) =>
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});

/**
 * The scan's header read: one single-file image, or a DICOM series (its files, a folder's, or one .zip)
 * read by the Node reader's own code over the bytes. Nothing past the headers is read yet.
 */
function openScan(
  files: readonly ScanFile[],
  scanName: string,
  options: DicomSeriesOptions = {},
): Promise<OpenedBytes> {
  if (!isDicomScan(files)) return openVolumeBytes(new Uint8Array(files[0].bytes), files[0].name);
  return openDicomBytes(namedBytes(files), scanName, options);
}

/** A series as the page's list shows it: number, modality, description, images and grid. */
function seriesLabel(s: DicomSeriesSummary): string {
  const number = s.seriesNumber === undefined ? '' : `#${s.seriesNumber} `;
  const description = s.description ? `"${s.description}"` : '(no description)';
  const problem = s.problem ? ', unreadable' : '';
  return `${number}${s.modality || '??'} ${description}, ${s.sliceCount} image(s), ${s.dims.join(' x ')}${problem}`;
}

function namedBytes(files: readonly ScanFile[]): NamedBytes[] {
  return files.map((file) => ({ name: file.name, bytes: new Uint8Array(file.bytes) }));
}

/** A DICOM series for the page to show: read here, sent back as NIfTI bytes (nothing leaves the browser). */
async function openForPage(request: OpenRequest): Promise<void> {
  const options = { admit: refuseBeyondTab, series: request.series };
  const opened = await openScan(request.files, request.scanName, options).catch(async (error: unknown) => {
    if (!(error instanceof MedparseError && error.code === 'MULTIPLE_SERIES')) throw error;
    // several series and none chosen: the page lists them for the user to pick one
    const series = await listDicomSeriesFrom(await memoryDicomInput(request.scanName, namedBytes(request.files)));
    const choices = series.map((s) => ({ uid: s.seriesInstanceUid, label: seriesLabel(s) }));
    post({ type: 'choose-series', message: `holds ${choices.length} DICOM series`, choices });
    return undefined;
  });
  if (!opened) return;
  const nifti = ownBuffer(encodeNifti(await opened.load()));
  post({ type: 'opened', nifti }, [nifti]);
}

/** A series whose voxels alone would pass what a tab can hold is refused from its headers, before a pixel is read. */
function refuseBeyondTab(header: VolumeHeader): void {
  const bytes = header.dims[0] * header.dims[1] * header.dims[2] * header.bytesPerVoxel;
  if (bytes <= BROWSER_MEMORY_LIMIT_BYTES) return;
  throw new MedparseError(
    'INVALID_DIMENSIONS',
    `the series is ${header.dims.join(' x ')} voxels (${(bytes / 2 ** 30).toFixed(1)} GB), more than a browser tab can hold; uncheck "Run in this browser" to read it on the server`,
    header.file,
  );
}

/** An engine and the runtime its networks run on (its backend falls back to WebAssembly if WebGPU fails). */
interface LoadedEngine {
  core: EngineCore;
  setup: WebRuntimeSetup;
}

/**
 * Engines by origin and GPU setting: a second run reuses the loaded package, vocabulary and open
 * networks; turning the GPU setting over loads the networks again on the other backend.
 */
const engines = new Map<string, Promise<LoadedEngine>>();

async function run(request: RunRequest): Promise<void> {
  // the page shows the reading as a stage of the run (a DICOM series' scan and read)
  const onProgress = (progress: ProgressEvent) => post({ type: 'progress', progress, threads: threadsInUse() });
  const opened = await openScan(request.files, request.scanName, { onProgress, series: request.series });
  const key = `${request.base} gpu=${request.gpu}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = loadEngine(request);
    engines.set(key, engine);
  }
  const { core, setup } = await engine.catch((error: unknown) => {
    engines.delete(key);
    throw error;
  });
  // from the header and the plan, before a voxel is decoded or a network opened
  checkBrowserMemory(
    browserEstimate(
      core.estimateMemory(opened.header, request),
      opened.header.dims,
      request.files.reduce((sum, file) => sum + file.bytes.byteLength, 0),
    ),
    request.scanName,
  );
  const volume = await opened.load();
  // detect is segment with every object of each present answer listed (report.json's instances), as on Node
  const result =
    request.task === 'recognize' ? await core.recognize(volume) : await core.segment(volume, request.prompts);
  const labels = new Uint16Array(volume.data.length);
  const answers = result.prompts.map((prompt, i) => answerOf(prompt, i + 1, labels));
  const { report, table, files } = await resultFiles(result, request, core.vocabulary);
  post(
    {
      type: 'done',
      answers,
      labels,
      dims: volume.dims,
      modality: result.modality,
      timings: result.timings,
      threads: threadsInUse(),
      backend: setup.backend,
      report,
      table,
      files,
    },
    [labels.buffer, ...files.map((file) => file.bytes)],
  );
}

/** The results folder's files, built here as output-folder.ts writes them on Node. */
async function resultFiles(result: ParseResult, request: RunRequest, vocabulary: Vocabulary) {
  const encoded = await encodeResultFiles(
    result,
    vocabulary,
    // the SEG and preview encoders are Node-free: offered beside the NIfTI files, as `medparse segment
    // --dicom-seg` writes them
    { task: request.task, medparseVersion: MEDPARSE_VERSION, dicomSeg: true, preview: true },
    gzip,
  );
  const files = [...encoded.files].map(([name, bytes]) => ({ name, bytes: ownBuffer(bytes) }));
  return { report: encoded.report, table: encoded.table, files };
}

/** gzip with the browser's CompressionStream. */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([ownBuffer(bytes)]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The bytes in an ArrayBuffer of their own (to transfer, or to make a Blob of). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : bytes.slice().buffer;
}

async function loadEngine(request: RunRequest): Promise<LoadedEngine> {
  const url = (path: string) => new URL(path, request.base).toString();
  const [manifest, vocabulary] = await Promise.all([
    fetchJson<ModelManifest>(url('/v1/browser/model.json'), request.headers),
    fetchJson<unknown>(url('/v1/browser/vocabulary.json'), request.headers),
  ]);
  const model = modelFromManifest(manifest, {
    dir: url('/v1/browser/'),
    manifest: url('/v1/browser/model.json'),
    locate: (file) => url(`/v1/browser/files/${file}`),
  });
  const setup: WebRuntimeSetup = {
    locate: (file) => url(`/${file}`),
    headers: request.headers,
    // as many as this page allows (several only where it is cross-origin isolated)
    threads: wasmThreads(self),
    // WebGPU only in a secure context and, in today's browsers, not everywhere: navigator.gpu is then absent
    backend: await chooseBackend(request.gpu, (navigator as Navigator & { gpu?: GpuLike }).gpu),
  };
  const opener = await webNetworkOpener(setup);
  // the page shows the count and the backend with the progress, so a user knows what runs
  const onProgress = (progress: ProgressEvent) =>
    post({ type: 'progress', progress, threads: threadsInUse(), backend: setup.backend });
  const core = await EngineCore.create(
    model,
    new Vocabulary(validateVocabularyFile(vocabulary, 'vocabulary.json')),
    // One window a run on several threads: with two windows on two threads the shipped model's first run
    // failed with an uncaught C++ exception (a bare number) on the demo CT, one window runs. Likely MLAS:
    // a batch of at least as many items as threads makes its 3D convolution expand each item's whole
    // input (im2col, GBs at 96^3) rather than a small slice per thread.
    { onProgress, batchSize: threadsInUse() > 1 ? 1 : undefined },
    opener,
  );
  return { core, setup };
}

async function fetchJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await fetchBytes(url, headers))) as T;
}

/** One answer's summary, its mask drawn into the label map (a later answer wins where two overlap). */
function answerOf(prompt: PromptResult, value: number, labels: Uint16Array): BrowserAnswer {
  let voxels = 0;
  let probabilitySum = 0;
  const probability = prompt.probability;
  if (probability)
    for (let i = 0; i < probability.length; i++) {
      if (probability[i] === 0) continue;
      voxels++;
      probabilitySum += probability[i];
      labels[i] = value;
    }
  return {
    text: prompt.text,
    status: prompt.status,
    score: prompt.score,
    notes: prompt.notes,
    suggestions: prompt.suggestions,
    voxels,
    probabilitySum,
    volumeMl: prompt.statistics?.volumeMl ?? null,
  };
}
