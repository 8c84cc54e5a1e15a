/**
 * The engine in a Web Worker (issue 21, in-browser mode): the scan the page opened is parsed here with
 * medparse's own NIfTI reader and answered by the same engine as on Node (engine-core.ts), networks
 * run by onnxruntime-web. The model package and vocabulary come from the serving origin; the scan
 * never leaves the browser.
 */
import { MedparseError } from '../core/errors.js';
import type { ProgressEvent } from '../core/progress.js';
import type { Volume } from '../core/volume.js';
import { isGzip } from '../io/binary.js';
import { decodeNifti, parseNiftiHeader } from '../io/nifti.js';
import { modelFromManifest } from '../runtime/model-spec.js';
import type { ModelManifest } from '../runtime/model-manifest.js';
import type { PromptResult } from '../tasks/results.js';
import { EngineCore } from '../tasks/engine-core.js';
import { Vocabulary, validateVocabularyFile } from '../vocab/vocabulary.js';
import type { BrowserAnswer, RunRequest, WorkerMessage } from './messages.js';
import { fetchBytes, webNetworkOpener } from './web-network.js';

const post = (message: WorkerMessage, transfer: Transferable[] = []) => self.postMessage(message, { transfer });

self.addEventListener('message', (event: MessageEvent<RunRequest>) => {
  if (event.data.type !== 'run') return;
  run(event.data).catch((error: unknown) =>
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});

/** Engines by origin: a second run reuses the loaded package, vocabulary and open networks. */
const engines = new Map<string, Promise<EngineCore>>();

async function run(request: RunRequest): Promise<void> {
  const volume = await readNifti(new Uint8Array(request.file), request.fileName);
  let engine = engines.get(request.base);
  if (!engine) {
    engine = loadEngine(request);
    engines.set(request.base, engine);
  }
  const core = await engine.catch((error: unknown) => {
    engines.delete(request.base);
    throw error;
  });
  const result =
    request.task === 'recognize' ? await core.recognize(volume) : await core.segment(volume, request.prompts);
  const labels = new Uint16Array(volume.data.length);
  const answers = result.prompts.map((prompt, i) => answerOf(prompt, i + 1, labels, core.vocabulary));
  post({ type: 'done', answers, labels, dims: volume.dims, modality: result.modality, timings: result.timings }, [
    labels.buffer,
  ]);
}

async function loadEngine(request: RunRequest): Promise<EngineCore> {
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
  const opener = webNetworkOpener({ wasmUrl: url('/ort-wasm-simd-threaded.wasm'), headers: request.headers });
  const onProgress = (progress: ProgressEvent) => post({ type: 'progress', progress });
  return EngineCore.create(
    model,
    new Vocabulary(validateVocabularyFile(vocabulary, 'vocabulary.json')),
    { onProgress },
    opener,
  );
}

/** A .nii or .nii.gz, read as readVolume reads it on Node (gunzip by the browser's own DecompressionStream). */
async function readNifti(file: Uint8Array<ArrayBuffer>, name: string): Promise<Volume> {
  const bytes = isGzip(file) ? await gunzip(file) : file;
  if (!/\.nii(\.gz)?$/i.test(name))
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      'the in-browser mode reads NIfTI (.nii, .nii.gz); run other formats on the server',
      name,
    );
  const header = parseNiftiHeader(bytes, name);
  return decodeNifti(header, bytes, header.voxOffset, name);
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function fetchJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await fetchBytes(url, headers))) as T;
}

/** One answer's summary, its mask drawn into the label map (a later answer wins where two overlap). */
function answerOf(prompt: PromptResult, value: number, labels: Uint16Array, vocabulary: Vocabulary): BrowserAnswer {
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
    color: voxels && prompt.concept ? (vocabulary.get(prompt.concept.id)?.color ?? null) : null,
  };
}
