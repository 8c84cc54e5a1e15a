/**
 * The browser platform's network opener: the .onnx file fetched by URL, its sha256 checked with Web
 * Crypto when model.json gives one, and run with onnxruntime-web: on the GPU through WebGPU where the
 * browser gives an adapter and the user allows it, else on its WebAssembly backend (several threads
 * where the page is cross-origin isolated, else one; see wasmThreads). The same contract as
 * onnx-session.ts on Node.
 */
import type * as Ort from 'onnxruntime-web/wasm';
import { MedparseError } from '../core/errors.js';
import { checkSignature, conceptRowIds, type NetworkOpener } from '../runtime/network-session.js';
import type { Backend } from './messages.js';
import { ORT_FILES } from './ort-files.js';

/** onnxruntime-web's API, the same from each of its builds. */
type OrtModule = typeof Ort;

/**
 * The build of onnxruntime-web this worker runs, loaded by the first opener: its WebAssembly-only build,
 * or its WebGPU build (which runs both providers) where the first run chose WebGPU. One a worker: the page
 * starts another worker when the GPU setting changes.
 */
let runtime: OrtModule | undefined;

/**
 * Where onnxruntime-web finds its .wasm (the viewer's own folder), what to send with each fetch, and how
 * many threads its WebAssembly runs (wasmThreads()). The count is fixed by the first session a worker
 * opens: onnxruntime-web starts its WebAssembly, and its thread pool, once.
 */
export interface WebRuntimeSetup {
  /** The URL of a file beside the engine worker (ORT_FILES' .wasm and .mjs). */
  locate: (file: string) => string;
  headers: Record<string, string>;
  threads: number;
  /** Where the networks run: chooseBackend's answer. */
  backend: Backend;
}

/** The slice of WebGPU's navigator.gpu this module asks (lib.dom in this TypeScript has no WebGPU types). */
export interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null>;
}

/**
 * WebGPU when the user wants it and the browser gives an adapter, else WebAssembly and why: WebGPU off
 * in the settings, absent from this browser (or this page: it needs a secure context), or no adapter.
 */
export async function chooseBackend(wanted: boolean, gpu: GpuLike | undefined): Promise<Backend> {
  if (!wanted) return { kind: 'wasm', why: 'the GPU is off in the settings' };
  if (!gpu) return { kind: 'wasm', why: 'this browser has no WebGPU' };
  let adapter: Awaited<ReturnType<GpuLike['requestAdapter']>>;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return { kind: 'wasm', why: `the WebGPU adapter request failed: ${firstLine(error)}` };
  }
  if (!adapter) return { kind: 'wasm', why: 'WebGPU gives no adapter here' };
  const name = [adapter.info?.vendor, adapter.info?.architecture].filter(Boolean).join(' ');
  return { kind: 'webgpu', adapter: name || 'unnamed adapter' };
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
  return runtime?.env.wasm.numThreads ?? 1;
}

/** onnxruntime-web's build for the backend: bundled into the worker, its .wasm fetched when first used. */
async function loadRuntime(setup: WebRuntimeSetup): Promise<OrtModule> {
  if (runtime) return runtime;
  const build = setup.backend.kind === 'webgpu' ? 'webgpu' : 'wasm';
  runtime = build === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm');
  const files = ORT_FILES[build];
  // the count is fixed when its WebAssembly starts; a later opener (another origin) keeps it
  runtime.env.wasm.numThreads ??= setup.threads;
  runtime.env.wasm.wasmPaths = { wasm: setup.locate(files.wasm), mjs: setup.locate(files.mjs) };
  return runtime;
}

export async function webNetworkOpener(setup: WebRuntimeSetup): Promise<NetworkOpener> {
  const ort = await loadRuntime(setup);
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
    let { session, onGpu } = await openSession(ort, bytes, setup, network.file);
    checkSignature(session, network.file);
    const feeds = (patches: Float32Array, [px, py, pz]: readonly number[], batch: number, rows: readonly number[]) => ({
      image: new ort.Tensor('float32', patches, [batch, 1, pz, py, px]),
      concept_ids: new ort.Tensor('int64', conceptRowIds(rows), [rows.length]),
    });
    return {
      async run(patches, size, batch, conceptRows) {
        let result: Ort.InferenceSession.ReturnType;
        try {
          result = await session.run(feeds(patches, size, batch, conceptRows));
        } catch (error) {
          if (!onGpu) throw error;
          // WebGPU's kernels may accept a network and fail on its first run (onnxruntime-web 1.23: 3D
          // convolutions); the run goes on on WebAssembly, for this network and the ones opened after it
          if (setup.backend.kind === 'webgpu')
            setup.backend = { kind: 'wasm', why: `WebGPU could not run the network: ${firstLine(error)}` };
          await session.release();
          ({ session, onGpu } = await openSession(ort, bytes, setup, network.file));
          result = await session.run(feeds(patches, size, batch, conceptRows));
        }
        return { logits: result.logits.data as Float32Array, presence: result.presence.data as Float32Array };
      },
      dispose: () => session.release(),
    };
  };
}

/**
 * An onnxruntime-web session on the chosen backend, and whether it is on the GPU; where WebGPU cannot
 * load the network (an operator it lacks, a device lost), this and later networks run on WebAssembly, and
 * setup.backend says why.
 */
async function openSession(
  ort: OrtModule,
  bytes: Uint8Array,
  setup: WebRuntimeSetup,
  file: string,
): Promise<{ session: Ort.InferenceSession; onGpu: boolean }> {
  if (setup.backend.kind === 'webgpu') {
    try {
      const options = { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' } as const;
      return { session: await ort.InferenceSession.create(bytes, options), onGpu: true };
    } catch (error) {
      setup.backend = { kind: 'wasm', why: `WebGPU could not load the network: ${firstLine(error)}` };
    }
  }
  try {
    const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' } as const;
    return { session: await ort.InferenceSession.create(bytes, options), onGpu: false };
  } catch (error) {
    throw new MedparseError('CORRUPT_FILE', `cannot load the network in this browser (${firstLine(error)})`, file);
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
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
