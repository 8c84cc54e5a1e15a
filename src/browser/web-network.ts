/**
 * The browser platform's network opener: the .onnx file fetched by URL, its sha256 checked with Web
 * Crypto when model.json gives one, and run with onnxruntime-web on its WebAssembly backend (several
 * threads where the page is cross-origin isolated, else one; see wasmThreads). The same contract as
 * onnx-session.ts on Node.
 */
import * as ort from 'onnxruntime-web/wasm';
import { MedparseError } from '../core/errors.js';
import { checkSignature, conceptRowIds, type NetworkOpener } from '../runtime/network-session.js';

/**
 * Where onnxruntime-web finds its .wasm (the viewer's own folder), what to send with each fetch, and how
 * many threads its WebAssembly runs (wasmThreads()). The count is fixed by the first session a worker
 * opens: onnxruntime-web starts its WebAssembly, and its thread pool, once.
 */
export interface WebRuntimeSetup {
  wasmUrl: string;
  /** Its JavaScript glue, which each WebAssembly thread's worker loads. */
  mjsUrl: string;
  headers: Record<string, string>;
  threads: number;
}

/**
 * onnxruntime-web's own ceiling for its default thread count: past four, its WebAssembly kernels gain
 * little on these networks while each thread is one more Web Worker with its own stack.
 */
export const MAX_WASM_THREADS = 4;

/**
 * Threads for onnxruntime-web's WebAssembly here: WebAssembly threads need SharedArrayBuffer, which a
 * browser gives only to a cross-origin isolated page (COOP same-origin and COEP require-corp, as
 * `medparse serve` sends them with the viewer), so one thread elsewhere.
 */
export function wasmThreads(scope: {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
}): number {
  if (!scope.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(scope.navigator?.hardwareConcurrency ?? 1, MAX_WASM_THREADS));
}

/**
 * The threads onnxruntime-web runs: once its WebAssembly has started, the count it took (it falls back to
 * one, with a console warning, where the browser has no WebAssembly threads).
 */
export function threadsInUse(): number {
  return ort.env.wasm.numThreads ?? 1;
}

export function webNetworkOpener(setup: WebRuntimeSetup): NetworkOpener {
  // the first opener sets it; a later one (another origin) keeps the count the WebAssembly started with
  ort.env.wasm.numThreads ??= setup.threads;
  ort.env.wasm.wasmPaths = { wasm: setup.wasmUrl, mjs: setup.mjsUrl };
  return async (network) => {
    const bytes = await fetchBytes(network.file, setup.headers);
    if (network.sha256) {
      const found = hex(await crypto.subtle.digest('SHA-256', bytes));
      if (found !== network.sha256)
        throw new MedparseError(
          'CORRUPT_FILE',
          `network ${network.id}: the file's sha256 is ${found}, but model.json says ${network.sha256}`,
          network.file,
        );
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new MedparseError('CORRUPT_FILE', `cannot load the network in this browser (${reason})`, network.file);
    }
    checkSignature(session, network.file);
    return {
      async run(patches, [px, py, pz], batch, conceptRows) {
        const result = await session.run({
          image: new ort.Tensor('float32', patches, [batch, 1, pz, py, px]),
          concept_ids: new ort.Tensor('int64', conceptRowIds(conceptRows), [conceptRows.length]),
        });
        return { logits: result.logits.data as Float32Array, presence: result.presence.data as Float32Array };
      },
      dispose: () => session.release(),
    };
  };
}

/** The bytes at a URL, or a one-line error naming it. */
export async function fetchBytes(url: string, headers: Record<string, string>): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new MedparseError('FILE_NOT_FOUND', `cannot fetch it (HTTP ${response.status})`, url);
  return new Uint8Array(await response.arrayBuffer());
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
