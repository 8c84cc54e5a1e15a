import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { MedparseError } from '../core/errors.js';

/** How to run networks: CPU threads, and a GPU provider when the installed runtime offers one. */
export interface RuntimeOptions {
  /** Intra-op threads (default: the number of CPU cores, at most 8). */
  threads?: number;
  device?: 'cpu' | 'cuda';
}

export interface NetworkOutputs {
  /** [batch, queries, z, y, x] */
  logits: Float32Array;
  /** [batch, queries] */
  presence: Float32Array;
}

/** One loaded network of the model contract: image patches and concept rows in, logits out. */
export interface NetworkSession {
  run(
    patches: Float32Array,
    patchDims: [number, number, number],
    batch: number,
    conceptRows: readonly number[],
  ): Promise<NetworkOutputs>;
  dispose(): Promise<void>;
}

export async function openNetwork(path: string, options: RuntimeOptions = {}): Promise<NetworkSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      executionProviders: [options.device ?? 'cpu'],
      intraOpNumThreads: options.threads ?? defaultThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const hint =
      options.device === 'cuda'
        ? '; the installed onnxruntime has no CUDA provider here: use --device cpu'
        : '; the model file is damaged or not ONNX';
    throw new MedparseError('CORRUPT_FILE', `cannot load the network (${reason})${hint}`, path);
  }
  checkSignature(session, path);
  return {
    async run(patches, [px, py, pz], batch, conceptRows) {
      const feeds = {
        image: new ort.Tensor('float32', patches, [batch, 1, pz, py, px]),
        concept_ids: new ort.Tensor(
          'int64',
          BigInt64Array.from(conceptRows, (r) => BigInt(r)),
          [conceptRows.length],
        ),
      };
      const result = await session.run(feeds);
      return { logits: result.logits.data as Float32Array, presence: result.presence.data as Float32Array };
    },
    dispose: () => session.release(),
  };
}

function checkSignature(session: ort.InferenceSession, path: string): void {
  const missing = [
    ...['image', 'concept_ids'].filter((n) => !session.inputNames.includes(n)).map((n) => `input "${n}"`),
    ...['logits', 'presence'].filter((n) => !session.outputNames.includes(n)).map((n) => `output "${n}"`),
  ];
  if (missing.length) {
    throw new MedparseError(
      'CORRUPT_FILE',
      `network lacks ${missing.join(', ')} of the model contract (docs/model-contract.md)`,
      path,
    );
  }
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}
