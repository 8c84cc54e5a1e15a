import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from a compiled test file at dist/test/<area>/x.js or the helper itself. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** ../shared beside the repository (or MEDPARSE_SHARED), or undefined when it is absent. */
export function sharedDir(): string | undefined {
  const candidate = process.env.MEDPARSE_SHARED ?? join(REPO_ROOT, '..', 'shared');
  return existsSync(candidate) ? candidate : undefined;
}

export const SHARED_MISSING = "skipped: ../shared (the project's real test data) is not beside the repository";

export interface GeometryTruth {
  path: string;
  shape: number[];
  voxel_size_mm: number[];
  affine_ras: number[][];
  orientation: string;
  stored_dtype: string;
  min: number | null;
  max: number | null;
  mean: number | null;
}

/** nibabel's readings; Python writes NaN as a bare token, which JSON.parse refuses, so it becomes null. */
export function loadGeometryTruth(path: string): GeometryTruth[] {
  return JSON.parse(readFileSync(path, 'utf8').replace(/\bNaN\b/g, 'null')) as GeometryTruth[];
}
