import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mat4 } from '../../src/core/affine.js';
import type { Volume, VoxelArray } from '../../src/core/volume.js';

/** A volume whose voxel values encode their index, so any reordering or offset shows. */
export function indexVolume<T extends VoxelArray>(
  dims: [number, number, number],
  affine: Mat4,
  make: (n: number) => T,
): Volume {
  const n = dims[0] * dims[1] * dims[2];
  const data = make(n);
  for (let i = 0; i < n; i++) data[i] = i % 251;
  return { dims, affine: [...affine], data, meta: { sourceFormat: 'generated', modality: 'unknown' } };
}

/** An oblique affine: a rotation about two axes, anisotropic voxels, an offset origin. */
export function obliqueAffine(spacing: [number, number, number] = [0.9, 1.1, 2.5]): number[] {
  const a = 0.3;
  const b = -0.2;
  const rz = [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
  const rx = [1, 0, 0, 0, Math.cos(b), -Math.sin(b), 0, Math.sin(b), Math.cos(b)];
  const r = [0, 1, 2].map((row) =>
    [0, 1, 2].map((col) => rz[row * 3] * rx[col] + rz[row * 3 + 1] * rx[3 + col] + rz[row * 3 + 2] * rx[6 + col]),
  );
  return [
    r[0][0] * spacing[0],
    r[0][1] * spacing[1],
    r[0][2] * spacing[2],
    -31.5,
    r[1][0] * spacing[0],
    r[1][1] * spacing[1],
    r[1][2] * spacing[2],
    12.25,
    r[2][0] * spacing[0],
    r[2][1] * spacing[1],
    r[2][2] * spacing[2],
    80,
    0,
    0,
    0,
    1,
  ];
}

/** A fresh folder under the OS temp dir; `cleanup` removes it (for a suite: make it in before(), clean up in after()). */
export function makeTempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'medparse-test-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs `fn` with a fresh temp folder, removed when it settles. */
export function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeTempDir();
  return fn(dir.path).finally(dir.cleanup);
}

/** The largest |a[i] - b[i]|; Infinity when the lengths differ. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * Asserts that two reads of one image gave the same volume: grid, geometry, voxel type and values, and
 * the metadata a reader fills (modality, source format, stored type, DICOM attributes).
 */
export function assertSameVolume(actual: Volume, expected: Volume): void {
  assert.deepEqual(actual.dims, expected.dims);
  assert.deepEqual(actual.affine, expected.affine);
  assert.deepEqual(actual.spacing, expected.spacing);
  assert.equal(actual.data.constructor, expected.data.constructor);
  assert.deepEqual(actual.data, expected.data);
  assert.equal(actual.meta.modality, expected.meta.modality);
  assert.equal(actual.meta.sourceFormat, expected.meta.sourceFormat);
  assert.equal(actual.meta.storedType, expected.meta.storedType);
  assert.deepEqual(actual.meta.dicom, expected.meta.dicom);
}
