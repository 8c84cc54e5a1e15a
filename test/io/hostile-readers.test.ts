/**
 * Files made to hurt: each test builds its crafted file in a temp folder and checks that the reader
 * refuses it with a clear error (or reads it correctly), without reading what it must not, without
 * filling memory and without hanging.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { MedparseError, type MedparseErrorCode } from '../../src/core/errors.js';
import { readVolume, type VolumeHeader } from '../../src/io/read.js';
import { encodeNifti } from '../../src/io/write-nifti.js';
import {
  baselineMiB,
  detachedMetaImageHeader,
  detachedNrrdHeader,
  hasMkfifo,
  readInChild,
  writeGzipBomb,
} from '../helpers/hostile.js';
import { indexVolume, withTempDir } from '../helpers/volumes.js';

const RAS = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

async function rejects(path: string, code: MedparseErrorCode, pattern: RegExp, options = {}): Promise<void> {
  await assert.rejects(readVolume(path, options), (error: unknown) => {
    assert.ok(error instanceof MedparseError, `expected a MedparseError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

describe('detached data files stay in the header folder and are regular files', () => {
  for (const [format, header, name, field] of [
    ['NRRD', detachedNrrdHeader, 'x.nhdr', /data file/],
    ['MetaImage', detachedMetaImageHeader, 'x.mhd', /ElementDataFile/],
  ] as const) {
    it(`${format}: an absolute path (/etc/passwd) is refused`, () =>
      withTempDir(async (dir) => {
        writeFileSync(join(dir, name), header('/etc/passwd'));
        await rejects(join(dir, name), 'UNSUPPORTED_FORMAT', /absolute path/);
        await rejects(join(dir, name), 'UNSUPPORTED_FORMAT', field);
      }));
    it(`${format}: /dev/zero is refused, not streamed`, () =>
      withTempDir(async (dir) => {
        writeFileSync(join(dir, name), header('/dev/zero'));
        await rejects(join(dir, name), 'UNSUPPORTED_FORMAT', /absolute path/);
      }));
    it(`${format}: a ../ escape to another folder's file is refused`, () =>
      withTempDir(async (dir) => {
        mkdirSync(join(dir, 'scan'));
        writeFileSync(join(dir, 'secret.raw'), Buffer.alloc(32, 7));
        writeFileSync(join(dir, 'scan', name), header('../secret.raw'));
        await rejects(join(dir, 'scan', name), 'UNSUPPORTED_FORMAT', /leaves the header's folder/);
      }));
    it(`${format}: a symbolic link leaving the folder is refused; one inside it is read`, () =>
      withTempDir(async (dir) => {
        mkdirSync(join(dir, 'scan'));
        writeFileSync(join(dir, 'secret.raw'), Buffer.alloc(32, 7));
        symlinkSync(join(dir, 'secret.raw'), join(dir, 'scan', 'data.raw'));
        writeFileSync(join(dir, 'scan', name), header('data.raw'));
        await rejects(join(dir, 'scan', name), 'UNSUPPORTED_FORMAT', /symbolic link leaving/);
        writeFileSync(join(dir, 'scan', 'real.raw'), Buffer.alloc(32, 9));
        symlinkSync('real.raw', join(dir, 'scan', 'inside.raw'));
        writeFileSync(join(dir, 'scan', name), header('inside.raw'));
        const volume = await readVolume(join(dir, 'scan', name));
        assert.equal(volume.data[31], 9);
      }));
    it(`${format}: a FIFO is refused at once instead of hanging`, { skip: !hasMkfifo() && 'no mkfifo' }, () =>
      withTempDir(async (dir) => {
        execFileSync('mkfifo', [join(dir, 'pipe.raw')]);
        writeFileSync(join(dir, name), header('pipe.raw'));
        await rejects(join(dir, name), 'UNSUPPORTED_FORMAT', /not a regular file/);
      }),
    );
  }
  it('a FIFO given as the image itself is refused', { skip: !hasMkfifo() && 'no mkfifo' }, () =>
    withTempDir(async (dir) => {
      execFileSync('mkfifo', [join(dir, 'scan.nii')]);
      await rejects(join(dir, 'scan.nii'), 'UNSUPPORTED_FORMAT', /not a regular file/);
    }),
  );
});

describe('decompression is bounded by what the header needs', () => {
  const small = () => encodeNifti(indexVolume([16, 16, 16], RAS, (n) => new Uint8Array(n)));

  it('a .nii.gz whose header needs 4 KiB but that inflates to 1 GiB is refused in little memory', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'bomb.nii.gz');
      await writeGzipBomb(path, small(), 1024);
      const [child, baseline] = await Promise.all([readInChild(path), baselineMiB()]);
      assert.equal(child.outcome, 'CORRUPT_FILE', child.message);
      assert.match(child.message, /decompression bomb/);
      assert.ok(child.peakMiB - baseline < 200, `peak ${child.peakMiB} MiB vs baseline ${baseline} MiB`);
    }));

  it('a NRRD whose gzip payload inflates far past its sizes is refused', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'bomb.nrrd');
      const header = 'NRRD0004\ntype: uint8\ndimension: 3\nsizes: 16 16 16\nencoding: gzip\n\n';
      writeFileSync(path, Buffer.concat([Buffer.from(header, 'latin1'), gzipSync(Buffer.alloc(64 << 20))]));
      await rejects(path, 'CORRUPT_FILE', /decompression bomb/);
    }));

  it('a MetaImage whose zlib data inflate far past DimSize are refused', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'bomb.mha');
      const header =
        'ObjectType = Image\nNDims = 3\nDimSize = 16 16 16\nElementType = MET_UCHAR\nCompressedData = True\nElementDataFile = LOCAL\n';
      writeFileSync(path, Buffer.concat([Buffer.from(header, 'latin1'), deflateSync(Buffer.alloc(64 << 20))]));
      await rejects(path, 'CORRUPT_FILE', /decompression bomb/);
    }));

  it('a compressed file of the right size still reads (all frames of a 4D file inflate, one is kept)', () =>
    withTempDir(async (dir) => {
      const volume = indexVolume([8, 8, 8], RAS, (n) => new Int16Array(n));
      const bytes = encodeNifti(volume);
      const view = new DataView(bytes.buffer);
      view.setInt16(40, 4, true); // dim = [4, 8, 8, 4, 2]: two frames in the same bytes
      view.setInt16(46, 4, true);
      view.setInt16(48, 2, true);
      writeFileSync(join(dir, 'two.nii.gz'), gzipSync(bytes));
      const second = await readVolume(join(dir, 'two.nii.gz'), { volume: 1 });
      assert.equal(second.data[0], volume.data[256]);
    }));
});

describe('the header is checked before any voxel is read', () => {
  it('checkHeader sees the header of a file that holds no voxels at all, and can refuse it', () =>
    withTempDir(async (dir) => {
      const header = encodeNifti(indexVolume([2, 2, 2], RAS, (n) => new Int16Array(n))).subarray(0, 352);
      const view = new DataView(header.buffer, header.byteOffset);
      [2000, 2000, 500].forEach((n, i) => view.setInt16(42 + 2 * i, n, true));
      const path = join(dir, 'huge.nii');
      writeFileSync(path, header);
      const seen: VolumeHeader[] = [];
      const refuse = (h: VolumeHeader) => {
        seen.push(h);
        throw new MedparseError('INVALID_ARGUMENT', 'too big for this test', h.file);
      };
      // without the early check this would be a TRUNCATED_FILE error after reading
      await rejects(path, 'INVALID_ARGUMENT', /too big/, { checkHeader: refuse });
      assert.deepEqual(seen[0].dims, [2000, 2000, 500]);
      assert.equal(seen[0].bytesPerVoxel, 2);
    }));
  it('maxVoxelBytes refuses a header describing more voxel data than allowed', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'big.nrrd');
      writeFileSync(path, 'NRRD0004\ntype: float\ndimension: 3\nsizes: 1000 1000 1000\nencoding: gzip\n\n');
      await rejects(path, 'INVALID_DIMENSIONS', /GiB allowed/, { maxVoxelBytes: 2 ** 30 });
    }));
});

describe('NIfTI header fields are validated as nibabel does', () => {
  const base = () => encodeNifti(indexVolume([4, 4, 4], RAS, (n) => new Int16Array(n)));
  it('a NaN vox_offset is refused instead of read as an all-zero image', () =>
    withTempDir(async (dir) => {
      const bytes = base();
      new DataView(bytes.buffer).setFloat32(108, NaN, true);
      writeFileSync(join(dir, 'nan.nii'), bytes);
      await rejects(join(dir, 'nan.nii'), 'CORRUPT_FILE', /vox_offset is NaN/);
    }));
  it('an infinite or negative vox_offset is refused', () =>
    withTempDir(async (dir) => {
      for (const value of [Infinity, -352]) {
        const bytes = base();
        new DataView(bytes.buffer).setFloat32(108, value, true);
        writeFileSync(join(dir, 'bad.nii'), bytes);
        await rejects(join(dir, 'bad.nii'), 'CORRUPT_FILE', /vox_offset/);
      }
    }));
  it('a vox_offset inside the header of a single file is refused', () =>
    withTempDir(async (dir) => {
      const bytes = base();
      new DataView(bytes.buffer).setFloat32(108, 0, true);
      writeFileSync(join(dir, 'low.nii'), bytes);
      await rejects(join(dir, 'low.nii'), 'CORRUPT_FILE', /inside the header/);
    }));
  it('a qform with a zero pixdim uses 1 for it (nibabel), not an all-zero affine column', () =>
    withTempDir(async (dir) => {
      const bytes = base();
      const view = new DataView(bytes.buffer);
      view.setInt16(254, 0, true); // no sform: the qform decides
      view.setInt16(252, 1, true);
      view.setFloat32(76 + 4 * 2, 0, true); // pixdim[2] = 0
      view.setFloat32(76 + 4 * 3, -3, true); // pixdim[3] negative: its absolute value
      writeFileSync(join(dir, 'zero.nii'), bytes);
      const volume = await readVolume(join(dir, 'zero.nii'));
      assert.equal(volume.affine[5], 1);
      assert.equal(volume.affine[10], 3);
    }));
  it('an sform of zeros (a singular affine) is refused', () =>
    withTempDir(async (dir) => {
      const bytes = base();
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < 12; i++) view.setFloat32(280 + 4 * i, 0, true);
      writeFileSync(join(dir, 'flat.nii'), bytes);
      await rejects(join(dir, 'flat.nii'), 'CORRUPT_FILE', /singular/);
    }));
});

describe('axes longer than NIfTI-1 can state', () => {
  it('are written as NIfTI-2 and read back with the same grid and values', () =>
    withTempDir(async (dir) => {
      const volume = indexVolume(
        [40000, 2, 1],
        [0.5, 0, 0, -3, 0, 2, 0, 4, 0, 0, 3, 5, 0, 0, 0, 1],
        (n) => new Int16Array(n),
      );
      const bytes = encodeNifti(volume);
      assert.equal(new DataView(bytes.buffer).getInt32(0, true), 540, 'a NIfTI-2 header');
      writeFileSync(join(dir, 'long.nii.gz'), gzipSync(bytes));
      const back = await readVolume(join(dir, 'long.nii.gz'));
      assert.deepEqual(back.dims, [40000, 2, 1]);
      assert.equal(back.meta.sourceFormat, 'nifti2');
      assert.deepEqual(back.affine, volume.affine);
      assert.deepEqual(Array.from(back.data.subarray(39990, 40010)), Array.from(volume.data.subarray(39990, 40010)));
    }));
  it('a grid NIfTI-1 can hold stays NIfTI-1', () => {
    const bytes = encodeNifti(indexVolume([32767, 1, 1], RAS, (n) => new Uint8Array(n)));
    assert.equal(new DataView(bytes.buffer).getInt32(0, true), 348);
  });
});
