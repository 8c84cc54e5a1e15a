import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';

/** The repository root (found in src/core/paths.ts). */
export const REPO_ROOT = PACKAGE_ROOT;

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
