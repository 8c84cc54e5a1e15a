import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { MedparseError } from '../core/errors.js';
import { checkSignature, conceptRowIds, type NetworkSession, type RuntimeOptions } from './network-session.js';

export type { NetworkOutputs, NetworkSession, RuntimeOptions } from './network-session.js';

export async function openNetwork(path: string, options: RuntimeOptions = {}): Promise<NetworkSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, sessionOptions(options));
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
        concept_ids: new ort.Tensor('int64', conceptRowIds(conceptRows), [conceptRows.length]),
      };
      const result = await session.run(feeds);
      return { logits: result.logits.data as Float32Array, presence: result.presence.data as Float32Array };
    },
    dispose: () => session.release(),
  };
}

/**
 * onnxruntime-node's options for one network. Idle threads sleep instead of spinning: on 2 cores, 3 demo-CT
 * runs took 5 to 8 % less CPU time, wall times within noise (11.8-14.7 s either way), and the 512x512x134 CT
 * bench 8.9-9.7 s against 9.4-11.5 s. Spinning only burns cores that the service's other workers and a
 * batch's writer could use.
 */
export function sessionOptions(options: RuntimeOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [options.device ?? 'cpu'],
    intraOpNumThreads: options.threads ?? defaultThreads(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}
