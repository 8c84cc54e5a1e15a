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
import { encodeDicomFile } from '../../../src/io/dicom/dcmjs.js';
import { readVolume } from '../../../src/io/read.js';
import { baselineMiB, readInChild } from '../../helpers/hostile.js';
import { withTempDir } from '../../helpers/volumes.js';
import { newUid, writeSeries } from './make-series.js';

async function rejects(path: string, code: MedparseErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(readVolume(path), (error: unknown) => {
    assert.ok(error instanceof MedparseError, `expected a MedparseError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

/** A tiny explicit-VR little-endian image dataset with `extra` attributes. */
function imageDataset(extra: Record<string, unknown>) {
  return {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2.1',
    SOPInstanceUID: newUid(),
    StudyInstanceUID: newUid(),
    SeriesInstanceUID: newUid(),
    Modality: 'CT',
    Rows: 4,
    Columns: 4,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    ImagePositionPatient: ['0', '0', '0'],
    ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
    PixelSpacing: ['1', '1'],
    _vrMap: { PixelData: 'OW' },
    PixelData: [new Uint8Array(32).buffer],
    ...extra,
  };
}

/** Explicit VR little endian element bytes. */
function element(group: number, elementNumber: number, vr: string, value: Uint8Array, undefinedLength = false) {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const head = new Uint8Array(long ? 12 : 8);
  const view = new DataView(head.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, elementNumber, true);
  head[4] = vr.charCodeAt(0);
  head[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, undefinedLength ? 0xffffffff : value.length, true);
  else view.setUint16(6, value.length, true);
  return Buffer.concat([head, value]);
}

function item(content: Uint8Array, undefinedLength: boolean): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0xfffe, 0);
  head.writeUInt16LE(0xe000, 2);
  head.writeUInt32LE(undefinedLength ? 0xffffffff : content.length, 4);
  const parts = [head, Buffer.from(content)];
  if (undefinedLength) parts.push(Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

/** ContentSequence items nested `depth` deep, undefined or defined lengths, then nothing else. */
function nestedSequences(depth: number, undefinedLength: boolean): Buffer {
  let inner: Buffer = Buffer.alloc(0);
  for (let level = 0; level < depth; level++) {
    const sequence = element(0x0040, 0xa730, 'SQ', item(inner, undefinedLength), undefinedLength);
    inner = undefinedLength ? Buffer.concat([sequence, Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0])]) : sequence;
  }
  return inner;
}

/** A Part 10 file: a valid image whose header has `inserted` bytes placed before the pixel data. */
function withInsertedElements(inserted: Uint8Array): Uint8Array {
  const file = Buffer.from(encodeDicomFile(imageDataset({})));
  const pixelTag = Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
  const at = file.lastIndexOf(pixelTag);
  return Buffer.concat([file.subarray(0, at), inserted, file.subarray(at)]);
}

describe('hostile DICOM', () => {
  it('a 34 KB file declaring 50 million frames is refused at once, without a record per frame', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'frames.dcm');
      writeFileSync(path, encodeDicomFile(imageDataset({ NumberOfFrames: '50000000' })));
      await rejects(path, 'CORRUPT_FILE', /NumberOfFrames says 50000000 .* at most 1/);
    }));

  it('5,000 nested sequences of undefined length are refused, not a stack overflow', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'nested.dcm');
      writeFileSync(path, withInsertedElements(nestedSequences(5000, true)));
      await rejects(path, 'CORRUPT_FILE', /nested more than 64 deep/);
    }));

  it('5,000 nested sequences of defined length are refused too', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'nested.dcm');
      writeFileSync(path, withInsertedElements(nestedSequences(5000, false)));
      await rejects(path, 'CORRUPT_FILE', /nested more than 64 deep/);
    }));

  it('a few nested sequences still read', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ok.dcm');
      writeFileSync(path, withInsertedElements(nestedSequences(5, true)));
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
