/**
 * The parse engine on Node: the Node-free engine (engine-core.ts: plan, prepare, infer, decode, decide,
 * answer) with the Node platform: the model package and vocabulary read from disk, networks opened with
 * onnxruntime-node after their sha256 is checked, and a memory limit from the machine's memory.
 * Writing the results is the caller's (results.ts, result-folder.ts), so the CLI, the service and a
 * library user share all of it.
 */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { MedparseError } from '../core/errors.js';
import { DEFAULT_MODEL_DIR } from '../core/paths.js';
import { checkNetworkFile, loadModelPackage } from '../runtime/model-package.js';
import type { NetworkOpener } from '../runtime/network-session.js';
import { openNetwork } from '../runtime/onnx-session.js';
import { loadVocabulary } from '../vocab/vocabulary-file.js';
import { EngineCore, type EngineOptions } from './engine-core.js';

export { EngineCore, type EngineOptions, type ParseOptions } from './engine-core.js';

/** The model package shipped with medparse (found in src/core/paths.ts), for existing imports. */
export { DEFAULT_MODEL_DIR };

/** Opens a network with onnxruntime-node, once its file is the one model.json vouches for. */
export const openNodeNetwork: NetworkOpener = async (network, options) => {
  await checkNetworkFile(network);
  return openNetwork(network.file, options);
};

/**
 * Loads a model package once and answers prompts on volumes with it. Networks open lazily (only
 * those the prompts need) and stay open for later requests; call dispose() when done.
 */
export class ParseEngine extends EngineCore {
  static load(modelDir: string = DEFAULT_MODEL_DIR, options: EngineOptions = {}): ParseEngine {
    if (!existsSync(modelDir)) {
      throw new MedparseError(
        'FILE_NOT_FOUND',
        'no model package here; pass --model <folder with model.json> or reinstall medparse',
        modelDir,
      );
    }
    const model = loadModelPackage(modelDir);
    const vocabulary = loadVocabulary();
    EngineCore.checkConcepts(model, vocabulary);
    const memoryLimitGb = options.memoryLimitGb ?? (0.75 * totalmem()) / 2 ** 30;
    return new ParseEngine(model, vocabulary, { ...options, memoryLimitGb }, openNodeNetwork);
  }
}
