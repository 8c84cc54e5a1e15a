/**
 * The two byte sources under the readers' front end keep one contract: the file source (Node,
 * readBounded) and the buffer source (browser, DecompressionStream) give the same bytes for the same
 * range, and refuse the same damaged or oversized data with the same error code.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { MedparseError } from '../../src/core/errors.js';
import { bufferSource } from '../../src/io/buffer-source.js';
import type { ByteRange, ByteSource } from '../../src/io/byte-source.js';
import { fileSource } from '../../src/io/file-source.js';
import { withTempDir } from '../helpers/volumes.js';

/** Bytes that compress but are not all alike: 0..250 repeating, with a slow ramp. */
function payload(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i % 251) ^ (i >> 12));
}

const HEAD = new TextEncoder().encode('a text header\n\n');
const BODY = payload(300_000);
const withHead = (body: Uint8Array) => new Uint8Array(Buffer.concat([HEAD, body]));

/** A file's bytes and ranges of it, each read through both sources. */
const CASES: Array<{ file: string; bytes: Uint8Array; ranges: ByteRange[] }> = [
  {
    file: 'plain.raw',
    bytes: withHead(BODY),
    ranges: [
      { keep: 2 },
      { keep: 1 << 20 },
      { skip: HEAD.length, keep: 1000 },
      { skip: 299_000, keep: 5000 }, // past the end: what is there
      { skip: 10, length: 100, keep: 1 << 20 },
    ],
  },
  {
    file: 'whole.gz',
    bytes: gzipSync(withHead(BODY)),
    ranges: [
      { fileGzip: true, keep: 64 },
      { fileGzip: true, skip: HEAD.length, keep: BODY.length, ceiling: HEAD.length + BODY.length },
      { fileGzip: true, skip: 1000, keep: 200 },
    ],
  },
  {
    file: 'gzip-part.nrrd',
    bytes: withHead(gzipSync(BODY)),
    ranges: [
      { skip: HEAD.length, compression: 'gzip', keep: BODY.length, ceiling: BODY.length + (1 << 20) },
      { skip: HEAD.length, compression: 'gzip', keep: 4096 },
    ],
  },
  {
    file: 'zlib-part.mha',
    bytes: withHead(deflateSync(BODY)),
    ranges: [{ skip: HEAD.length, compression: 'zlib', keep: 100_000, ceiling: BODY.length }],
  },
  {
    file: 'gzip-in-gzip.nrrd',
    bytes: gzipSync(withHead(gzipSync(BODY))),
    ranges: [{ fileGzip: true, skip: HEAD.length, compression: 'gzip', keep: BODY.length, ceiling: BODY.length }],
  },
];

/** Both sources over one file on disk. */
async function sources(dir: string, file: string, bytes: Uint8Array): Promise<[ByteSource, ByteSource]> {
  const path = join(dir, file);
  writeFileSync(path, bytes);
  return [fileSource(path), bufferSource(bytes, path)];
}

async function errorCode(read: Promise<Uint8Array>): Promise<string> {
  try {
    await read;
  } catch (error) {
    assert.ok(error instanceof MedparseError, String(error));
    return error.code;
  }
  return 'no error';
}

describe('the file source and the buffer source keep one contract', () => {
  for (const { file, bytes, ranges } of CASES)
    it(`${file}: the same bytes for the same range`, () =>
      withTempDir(async (dir) => {
        const [onDisk, inMemory] = await sources(dir, file, bytes);
        assert.equal(inMemory.size(), onDisk.size());
        for (const range of ranges) {
          const [a, b] = [await onDisk.read(range), await inMemory.read(range)];
          assert.ok(a.length > 0, JSON.stringify(range));
          assert.deepEqual(b, a, JSON.stringify(range));
        }
      }));

  it('both refuse data that inflate past the ceiling, and damaged data, with the same code', () =>
    withTempDir(async (dir) => {
      const bomb = gzipSync(withHead(new Uint8Array(8 << 20)));
      const [bombFile, bombBytes] = await sources(dir, 'bomb.gz', bomb);
      const bounded: ByteRange = { fileGzip: true, keep: 1000, ceiling: 1 << 20 };
      assert.equal(await errorCode(bombFile.read(bounded)), 'CORRUPT_FILE');
      assert.equal(await errorCode(bombBytes.read(bounded)), 'CORRUPT_FILE');
      const whole = gzipSync(withHead(BODY));
      const cut = whole.subarray(0, whole.length >> 1);
      const [cutFile, cutBytes] = await sources(dir, 'cut.gz', cut);
      const all: ByteRange = { fileGzip: true, keep: BODY.length, ceiling: BODY.length + HEAD.length };
      assert.equal(await errorCode(cutFile.read(all)), 'TRUNCATED_FILE');
      assert.equal(await errorCode(cutBytes.read(all)), 'TRUNCATED_FILE');
    }));

  it('only the file source reaches a data file beside the header; the buffer source says what to open', () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'a.raw'), BODY);
      const [onDisk, inMemory] = await sources(dir, 'a.nhdr', HEAD);
      const field = 'NRRD "data file:"';
      const data = onDisk.detached('a.raw', field, 'a .nrrd with attached data');
      assert.deepEqual(await data.read({ keep: 10 }), BODY.subarray(0, 10));
      assert.throws(() => onDisk.detached('../a.raw', field, 'a .nrrd'), /leaves the header's folder/);
      assert.throws(
        () => inMemory.detached('a.raw', field, 'a .nrrd with attached data'),
        /NRRD "data file:" names a separate data file \("a\.raw"\), which cannot be read here; open a \.nrrd with attached data/,
      );
      assert.throws(() => inMemory.pairedImage(join(dir, 'a.img')), /save the image as one \.nii or \.nii\.gz file/);
      assert.throws(() => onDisk.pairedImage(join(dir, 'missing.img')), /no such file/);
    }));
});
