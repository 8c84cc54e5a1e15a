/**
 * The engine's view of a network (docs/model-contract.md): image patches and concept rows in, logits
 * and presence out. Node-free: onnx-session.ts opens one with onnxruntime-node, the browser worker
 * (src/viewer/browser-network.ts) with onnxruntime-web; both check the contract's signature here.
 */
import { MedparseError } from '../core/errors.js';
import type { NetworkSpec } from './model-spec.js';

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

/** Opens a network of a loaded package on one platform (checking its file first where it can). */
export type NetworkOpener = (network: NetworkSpec, options: RuntimeOptions) => Promise<NetworkSession>;

/** The input and output names of an opened ONNX session, as both runtimes report them. */
export interface SessionNames {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

/** Refuses a network whose inputs and outputs are not the model contract's. */
export function checkSignature(session: SessionNames, path: string): void {
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

/** The contract's concept row input: int64 row indices. */
export function conceptRowIds(conceptRows: readonly number[]): BigInt64Array {
  return BigInt64Array.from(conceptRows, (r) => BigInt(r));
}
