import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MedparseError } from '../core/errors.js';
import { manifestPath, readModelManifest } from './model-manifest.js';
import { modelFromManifest, type ModelPackage, type NetworkSpec } from './model-spec.js';

/**
 * Model packages on disk (Node): reading model.json, checking a network file's sha256, listing the
 * packages of a folder. The types and the Node-free rules live in model-spec.ts, re-exported here.
 */
export * from './model-spec.js';

/**
 * Reads `<dir>/model.json` (checked against schemas/model.schema.json by readModelManifest), applies
 * the contract's defaults and checks what a schema cannot: files that exist, one normalisation per
 * modality, distinct rows, groups of this network's concepts. Every problem names the field.
 */
export function loadModelPackage(dir: string): ModelPackage {
  const manifest = readModelManifest(dir);
  return modelFromManifest(manifest, {
    dir: resolve(dir),
    manifest: manifestPath(dir),
    locate: (file) => resolve(dir, file),
    exists: existsSync,
  });
}

/**
 * Refuses a network file that does not match the sha256 model.json gives for it (a swapped or
 * damaged .onnx would otherwise run and answer wrongly). Streams the file: networks can be large.
 */
export async function checkNetworkFile(network: NetworkSpec): Promise<void> {
  if (!network.sha256) return;
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(network.file)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new MedparseError(
      'FILE_NOT_FOUND',
      `cannot read the network file (${(error as Error).message})`,
      network.file,
    );
  }
  const found = hash.digest('hex');
  if (found !== network.sha256)
    throw new MedparseError(
      'CORRUPT_FILE',
      `network ${network.id}: the file's sha256 is ${found}, but model.json says ${network.sha256}; the file was swapped or damaged: reinstall the model package`,
      network.file,
    );
}

/** Model packages installed in a folder (each subfolder with a model.json), for `medparse models`. */
export function findModelPackages(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((path) => statSync(path).isDirectory() && existsSync(join(path, 'model.json')));
}
