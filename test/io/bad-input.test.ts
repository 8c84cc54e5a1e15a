import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { MedparseError, type MedparseErrorCode } from '../../src/core/errors.js';
import { readVolume, readVolumeHeader } from '../../src/io/read.js';
import { encodeNifti } from '../../src/io/write-nifti.js';
import { indexVolume, withTempDir } from '../helpers/volumes.js';

const RAS = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

function validNifti(): Uint8Array {
  return encodeNifti(indexVolume([8, 8, 8], RAS, (n) => new Int16Array(n)));
}

/** Writes `bytes` as `name`, reads it, and checks the error's code and that it names the file. */
async function expectError(
  name: string,
  bytes: Uint8Array | string,
  code: MedparseErrorCode,
  pattern: RegExp,
  options = {},
): Promise<void> {
  await withTempDir(async (dir) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    await assert.rejects(readVolume(path, options), (error: unknown) => {
      assert.ok(error instanceof MedparseError, `expected a MedparseError, got ${String(error)}`);
      assert.equal(error.code, code);
      assert.ok(error.message.includes(path), `message names the file: ${error.message}`);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    });
  });
}

function withHeader(edit: (view: DataView) => void): Uint8Array {
  const bytes = validNifti();
  edit(new DataView(bytes.buffer));
  return bytes;
}

/** dim = [4, 8, 8, 4, 2]: two volumes of 8x8x4 in the bytes of one 8x8x8 volume. */
function makeTwoVolumes(view: DataView): void {
  view.setInt16(40, 4, true);
  view.setInt16(46, 4, true);
  view.setInt16(48, 2, true);
}

describe('bad input gives a clear, specific error', () => {
  it('a truncated .nii', () => expectError('t.nii', validNifti().subarray(0, 600), 'TRUNCATED_FILE', /truncated/));
  it('a truncated .nii.gz', () =>
    expectError('t.nii.gz', gzipSync(validNifti()).subarray(0, 200), 'TRUNCATED_FILE', /incomplete/));
  it('gzip garbage', () => {
    const bytes = gzipSync(validNifti());
    for (let i = 40; i < 120; i++) bytes[i] ^= 0x5a;
    return expectError('g.nii.gz', bytes, 'CORRUPT_FILE', /damaged/);
  });
  it('a header shorter than NIfTI', () =>
    expectError('s.nii', new Uint8Array(100).fill(1), 'TRUNCATED_FILE', /too short/));
  it('a wrong magic', () =>
    expectError(
      'm.nii',
      withHeader((v) => v.setUint8(344, 0x78)),
      'CORRUPT_FILE',
      /magic/,
    ));
  it('impossible dimensions', () =>
    expectError(
      'd.nii',
      withHeader((v) => v.setInt16(42, -4, true)),
      'INVALID_DIMENSIONS',
      /dimensions/,
    ));
  it('absurd dimensions', () =>
    expectError(
      'a.nii',
      withHeader((v) => [32000, 32000, 32000].forEach((n, i) => v.setInt16(42 + 2 * i, n, true))),
      'INVALID_DIMENSIONS',
      /limit/,
    ));
  it('dim[0] out of range', () =>
    expectError(
      'r.nii',
      withHeader((v) => v.setInt16(40, 9, true)),
      'INVALID_DIMENSIONS',
      /dim\[0\]/,
    ));
  it('an unsupported datatype', () =>
    expectError(
      'c.nii',
      withHeader((v) => v.setInt16(70, 32, true)),
      'UNSUPPORTED_DATATYPE',
      /complex64/,
    ));
  it('an undefined datatype', () =>
    expectError(
      'u.nii',
      withHeader((v) => v.setInt16(70, 3, true)),
      'UNSUPPORTED_DATATYPE',
      /code 3/,
    ));
  it('a 4D file without --volume', () =>
    expectError('4d.nii', withHeader(makeTwoVolumes), 'MULTIPLE_VOLUMES', /--volume N \(0 to 1\)/));
  it('a 4D file with --volume out of range', () =>
    expectError('4d.nii', withHeader(makeTwoVolumes), 'INVALID_ARGUMENT', /out of range/, { volume: 5 }));
  it('an empty file', () => expectError('e.nii.gz', new Uint8Array(0), 'EMPTY_INPUT', /empty/));
  it('an unknown extension', () => expectError('x.txt', validNifti(), 'UNSUPPORTED_FORMAT', /looks like nifti/));
  it('NIfTI content under an MGH extension', () =>
    expectError('x.mgz', gzipSync(validNifti()), 'UNSUPPORTED_FORMAT', /rename/));
  it('a text file named .nii', () =>
    expectError('x.nii', 'hello world, this is not an image\n'.repeat(20), 'CORRUPT_FILE', /not a NIfTI/));
  it('a NRRD with a broken header', () =>
    expectError('x.nrrd', 'NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2\n\n', 'CORRUPT_FILE', /sizes/));
  it('a NRRD with too little data', () =>
    expectError(
      'x.nrrd',
      'NRRD0004\ntype: short\ndimension: 3\nsizes: 4 4 4\nencoding: raw\n\n' + 'ab',
      'TRUNCATED_FILE',
      /truncated/,
    ));
  it('a MetaImage without data', () =>
    expectError(
      'x.mha',
      'ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\nElementDataFile = LOCAL\n',
      'TRUNCATED_FILE',
      /truncated/,
    ));
  it('a MetaImage pointing at a missing data file', () =>
    expectError(
      'x.mhd',
      'ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\nElementDataFile = nope.raw\n',
      'FILE_NOT_FOUND',
      /nope\.raw/,
    ));
  it('a path that does not exist', async () => {
    await assert.rejects(
      readVolume('/nonexistent/scan.nii.gz'),
      (e: unknown) => e instanceof MedparseError && e.code === 'FILE_NOT_FOUND',
    );
  });
});

describe('readVolumeHeader: the header checks of readVolume, without reading voxels', () => {
  it('answers the grid of a file whose voxels are missing, and refuses what readVolume refuses from the header', () =>
    withTempDir(async (dir) => {
      const whole = validNifti();
      const truncated = join(dir, 'truncated.nii');
      writeFileSync(truncated, whole.subarray(0, 400));
      const header = await readVolumeHeader(truncated);
      assert.deepEqual(header.dims, [8, 8, 8]);
      assert.equal(header.format, 'nifti');
      assert.equal(header.bytesPerVoxel, 2);
      await assert.rejects(readVolume(truncated), (error: MedparseError) => error.code === 'TRUNCATED_FILE');
      const empty = join(dir, 'empty.nii.gz');
      writeFileSync(empty, '');
      await assert.rejects(readVolumeHeader(empty), (error: MedparseError) => error.code === 'EMPTY_INPUT');
      const huge = join(dir, 'huge.nii');
      writeFileSync(huge, whole);
      await assert.rejects(
        readVolumeHeader(huge, { maxVoxelBytes: 100 }),
        (error: MedparseError) => error.code === 'INVALID_DIMENSIONS',
      );
      await assert.rejects(
        readVolumeHeader(huge, { volume: 1 }),
        (error: MedparseError) => error.code === 'INVALID_ARGUMENT',
      );
    }));
});
