/**
 * Crafted DICOM files and zips: counts and lengths from the header are bounded by the bytes
 * present, nesting is bounded, zip entries are read lazily and checked.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { MedparseError, type MedparseErrorCode } from '../../../src/core/errors.js';
import { readVolume } from '../../../src/io/read.js';
import {
  baselineMiB,
  nestedSequences,
  readInChild,
  tinyDicomImage,
  tinyDicomImageWithElements,
} from '../../helpers/hostile.js';
import { withTempDir } from '../../helpers/volumes.js';
import { writeSeries } from './make-series.js';

async function rejects(path: string, code: MedparseErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(readVolume(path), (error: unknown) => {
    assert.ok(error instanceof MedparseError, `expected a MedparseError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('hostile DICOM', () => {
  it('a 34 KB file declaring 50 million frames is refused at once, without a record per frame', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'frames.dcm');
      writeFileSync(path, tinyDicomImage({ NumberOfFrames: '50000000' }));
      await rejects(path, 'CORRUPT_FILE', /NumberOfFrames says 50000000 .* at most 1/);
    }));

  it('5,000 nested sequences of undefined length are refused, not a stack overflow', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'nested.dcm');
      writeFileSync(path, tinyDicomImageWithElements(nestedSequences(5000, true)));
      await rejects(path, 'CORRUPT_FILE', /nested more than 64 deep/);
    }));

  it('5,000 nested sequences of defined length are refused too', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'nested.dcm');
      writeFileSync(path, tinyDicomImageWithElements(nestedSequences(5000, false)));
      await rejects(path, 'CORRUPT_FILE', /nested more than 64 deep/);
    }));

  it('a few nested sequences still read', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ok.dcm');
      writeFileSync(path, tinyDicomImageWithElements(nestedSequences(5, true)));
      const volume = await readVolume(path);
      assert.deepEqual(volume.dims, [4, 4, 1]);
    }));
});

async function zipOfSeries(dir: string, level: 0 | 6): Promise<{ path: string; bytes: Uint8Array }> {
  const series = await writeSeries(join(dir, 'series'), { slices: 3 });
  const entries: Record<string, Uint8Array> = {};
  for (const name of await readdir(series.folder)) entries[`s/${name}`] = readFileSync(join(series.folder, name));
  const bytes = zipSync(entries, { level });
  return { path: join(dir, 'series.zip'), bytes };
}

describe('hostile zips', () => {
  it('a valid zip still reads, stored or deflated', () =>
    withTempDir(async (dir) => {
      for (const level of [0, 6] as const) {
        const { path, bytes } = await zipOfSeries(dir, level);
        writeFileSync(path, bytes);
        assert.deepEqual((await readVolume(path)).dims, [6, 5, 3]);
      }
    }));

  it('an entry whose bytes fail its CRC-32 is refused', () =>
    withTempDir(async (dir) => {
      const { path, bytes } = await zipOfSeries(dir, 0);
      // the last pixel byte of the first entry (stored, so the bytes are the file's own)
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const size = view.getUint32(18, true);
      const start = 30 + view.getUint16(26, true) + view.getUint16(28, true);
      bytes[start + size - 1] ^= 0xff;
      writeFileSync(path, bytes);
      await rejects(path, 'CORRUPT_FILE', /CRC-32/);
    }));

  it('an archive claiming far more than its size (a zip bomb) is refused before inflating', () =>
    withTempDir(async (dir) => {
      const { path, bytes } = await zipOfSeries(dir, 6);
      // raise every entry's declared size in the central directory to 1 GiB
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      for (let at = 0; at + 46 <= bytes.length; at++)
        if (view.getUint32(at, true) === 0x02014b50) view.setUint32(at + 24, 2 ** 30, true);
      writeFileSync(path, bytes);
      await rejects(path, 'CORRUPT_FILE', /zip bomb/);
    }));

  it('an entry that inflates past its declared size is refused', () =>
    withTempDir(async (dir) => {
      const { path, bytes } = await zipOfSeries(dir, 6);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      for (let at = 0; at + 46 <= bytes.length; at++)
        if (view.getUint32(at, true) === 0x02014b50) view.setUint32(at + 24, view.getUint32(at + 24, true) - 100, true);
      writeFileSync(path, bytes);
      await rejects(path, 'CORRUPT_FILE', /decompression bomb|fewer bytes|CRC/);
    }));

  it('entries are read lazily: 200 MiB of entries never sit in memory together', () =>
    withTempDir(async (dir) => {
      const entries: Record<string, Uint8Array> = {};
      const zeros = new Uint8Array(8 << 20);
      for (let i = 0; i < 25; i++) entries[`noise/${i}.bin`] = zeros;
      const path = join(dir, 'big.zip');
      writeFileSync(path, zipSync(entries, { level: 6 }));
      const [child, baseline] = await Promise.all([readInChild(path), baselineMiB()]);
      assert.equal(child.outcome, 'EMPTY_INPUT', child.message);
      assert.ok(child.peakMiB - baseline < 100, `peak ${child.peakMiB} MiB vs baseline ${baseline} MiB`);
    }));
});
