/**
 * The package's own files, found in one place. Modules run from src/ (tsx, tests of the sources) and
 * from dist/src/ (the build, an installed package), at different depths below the package root, so the
 * root is found by walking up to the package.json named medparse rather than by counting '../'.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface PackageJson {
  name?: string;
  version?: string;
}

function readPackageJson(path: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readPackageJson(manifest)?.name === 'medparse') return dir;
    if (dirname(dir) === dir) throw new Error(`medparse: no package.json named medparse above ${start}`);
  }
}

/** The folder holding medparse's package.json: the repository, or node_modules/medparse once installed. */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** Model packages shipped with medparse (`medparse models` lists this folder by default). */
export const MODELS_DIR = join(PACKAGE_ROOT, 'models');

/** The model package used when none is named. */
export const DEFAULT_MODEL_DIR = join(MODELS_DIR, 'medparse-default');

/** The committed data files: vocabulary, dataset label tables, the demo scan. */
export const DATA_DIR = join(PACKAGE_ROOT, 'data');

export function dataFile(name: string): string {
  return join(DATA_DIR, name);
}

/** The real abdominal CT `npm start` parses (TotalSegmentator's example; licence in data/demo/README.md). */
export const DEMO_SCAN = join(DATA_DIR, 'demo', 'example_ct.nii.gz');

let version: string | undefined;

/** medparse's version, from its package.json ('unknown' only if that file cannot be read). */
export function packageVersion(): string {
  version ??= readPackageJson(join(PACKAGE_ROOT, 'package.json'))?.version ?? 'unknown';
  return version;
}
