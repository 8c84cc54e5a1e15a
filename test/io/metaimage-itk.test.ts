/**
 * MetaImage and NRRD headers as ITK writes them (ITK's MetaImageIO and NrrdImageIO, which SimpleITK
 * and plastimatch use). The headers below are copied from files plastimatch 1.9.4 (ITK 5.2) wrote;
 * only the voxel bytes are made here. ITK writes every entry of an image's metadata dictionary into
 * the header: an image read from NIfTI carries "dim[0] = 3", "pixdim[1] = 0.5", ... lines.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { transformPoint } from '../../src/core/affine.js';
import { orientationOf } from '../../src/core/volume.js';
import { readVolume } from '../../src/io/read.js';
import { withTempDir } from '../helpers/volumes.js';

const DIMS = [6, 5, 4] as const;
const COUNT = DIMS[0] * DIMS[1] * DIMS[2];

/** Voxel n holds (n * 37) % 200 - 100: tells axes and order apart. */
const valueAt = (n: number) => ((n * 37) % 200) - 100;
const EXPECTED = Array.from({ length: COUNT }, (_, n) => valueAt(n));

type Writer = 'int16' | 'uint8' | 'float32' | 'float64';

function voxelBytes(type: Writer, littleEndian = true): Uint8Array {
  const size = { int16: 2, uint8: 1, float32: 4, float64: 8 }[type];
  const out = new Uint8Array(COUNT * size);
  const view = new DataView(out.buffer);
  for (let n = 0; n < COUNT; n++) {
    const value = type === 'uint8' ? valueAt(n) + 100 : type.startsWith('float') ? valueAt(n) + 0.25 : valueAt(n);
    if (type === 'int16') view.setInt16(2 * n, value, littleEndian);
    else if (type === 'uint8') view.setUint8(n, value);
    else if (type === 'float32') view.setFloat32(4 * n, value, littleEndian);
    else view.setFloat64(8 * n, value, littleEndian);
  }
  return out;
}

function concat(...parts: Array<string | Uint8Array>): Uint8Array {
  const bytes = parts.map((part) => (typeof part === 'string' ? new TextEncoder().encode(part) : part));
  const out = new Uint8Array(bytes.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of bytes) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The fields every ITK MetaImage header starts with, for an axis-aligned LPS image. */
function itkFields(extra: { compressed?: boolean; type?: string; msb?: boolean } = {}): string {
  return [
    'ObjectType = Image',
    'NDims = 3',
    'BinaryData = True',
    `BinaryDataByteOrderMSB = ${extra.msb ? 'True' : 'False'}`,
    `CompressedData = ${extra.compressed ? 'True' : 'False'}`,
    'TransformMatrix = 1 0 0 0 1 0 0 0 1',
    'Offset = -10 -20 30',
    'CenterOfRotation = 0 0 0',
    'AnatomicalOrientation = RAI',
    'ElementSpacing = 0.5 0.75 2',
  ].join('\n');
}

/** What ITK adds from the dictionary of an image it read from NIfTI (plastimatch convert in.nii.gz out.mha). */
const NIFTI_DICTIONARY = [
  'ITK_original_direction = 1 -0 -0 -0 1 -0 0 0 1',
  'ITK_original_spacing = 0.75 2 2',
  'bitpix = 16',
  'datatype = 4',
  'dim[0] = 3',
  'dim[1] = 6',
  'dim[2] = 5',
  'dim[3] = 4',
  'pixdim[0] = 0',
  'pixdim[1] = 0.5',
  'qform_code_name = NIFTI_XFORM_SCANNER_ANAT',
  'srow_x = -0.5 0 0 10',
  'srow_y = 0 -0.75 0 20',
  'srow_z = 0 0 2 30',
  'vox_offset = 352',
].join('\n');

const LPS_AFFINE_RAS = [-0.5, -0, -0, 10, -0, -0.75, -0, 20, 0, 0, 2, 30, 0, 0, 0, 1];

describe('MetaImage as ITK writes it', () => {
  it('an image ITK read from NIfTI: its dictionary lines ("dim[0] = 3") are kept out of the geometry', () =>
    withTempDir(async (dir) => {
      const header = `${itkFields()}\n${NIFTI_DICTIONARY}\nDimSize = 6 5 4\nElementType = MET_SHORT\nElementDataFile = LOCAL\n`;
      writeFileSync(join(dir, 'fromnii.mha'), concat(header, voxelBytes('int16')));
      const volume = await readVolume(join(dir, 'fromnii.mha'));
      assert.deepEqual(volume.dims, [...DIMS]);
      assert.deepEqual(Array.from(volume.data), EXPECTED);
      assert.deepEqual([...volume.affine], LPS_AFFINE_RAS);
    }));

  it('SimpleITK with compression: MET_FLOAT, CompressedDataSize bounds the zlib stream', () =>
    withTempDir(async (dir) => {
      const compressed = deflateSync(voxelBytes('float32'));
      const header =
        `${itkFields({ compressed: true })}\nDimSize = 6 5 4\nElementType = MET_FLOAT\n` +
        `CompressedDataSize = ${compressed.length}\nElementDataFile = LOCAL\n`;
      // Bytes after the stream (as a concatenating tool leaves) are not part of it.
      writeFileSync(join(dir, 'f.mha'), concat(header, compressed, new Uint8Array(16).fill(0xee)));
      const volume = await readVolume(join(dir, 'f.mha'));
      assert.equal(volume.data.constructor, Float32Array);
      assert.deepEqual(
        Array.from(volume.data),
        EXPECTED.map((v) => v + 0.25),
      );
    }));

  it('MET_UCHAR, MET_DOUBLE, and big-endian data (ElementByteOrderMSB)', () =>
    withTempDir(async (dir) => {
      const uchar = `${itkFields()}\nDimSize = 6 5 4\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n`;
      writeFileSync(join(dir, 'u.mha'), concat(uchar, voxelBytes('uint8')));
      assert.deepEqual(
        Array.from((await readVolume(join(dir, 'u.mha'))).data),
        EXPECTED.map((v) => v + 100),
      );
      const double = `${itkFields({ msb: true })}\nDimSize = 6 5 4\nElementType = MET_DOUBLE\nElementDataFile = LOCAL\n`;
      writeFileSync(join(dir, 'd.mha'), concat(double, voxelBytes('float64', false)));
      assert.deepEqual(
        Array.from((await readVolume(join(dir, 'd.mha'))).data),
        EXPECTED.map((v) => v + 0.25),
      );
      const older = uchar.replace('BinaryDataByteOrderMSB = False', 'ElementByteOrderMSB = True');
      writeFileSync(join(dir, 's.mha'), concat(older.replace('MET_UCHAR', 'MET_SHORT'), voxelBytes('int16', false)));
      assert.deepEqual(Array.from((await readVolume(join(dir, 's.mha'))).data), EXPECTED);
    }));

  it('MET_LONG_LONG and MET_ULONG_LONG (SimpleITK from numpy int64) read as float64, both byte orders', () =>
    withTempDir(async (dir) => {
      for (const [type, msb] of [
        ['MET_LONG_LONG', false],
        ['MET_LONG_LONG', true],
        ['MET_ULONG_LONG', false],
      ] as const) {
        const unsigned = type === 'MET_ULONG_LONG';
        const bytes = new Uint8Array(COUNT * 8);
        const view = new DataView(bytes.buffer);
        for (let n = 0; n < COUNT; n++) {
          const value = BigInt(unsigned ? valueAt(n) + 100 : valueAt(n));
          if (unsigned) view.setBigUint64(8 * n, value, !msb);
          else view.setBigInt64(8 * n, value, !msb);
        }
        const header = `${itkFields({ msb })}\nDimSize = 6 5 4\nElementType = ${type}\nElementDataFile = LOCAL\n`;
        const file = join(dir, `${type}-${msb}.mha`);
        writeFileSync(file, concat(header, bytes));
        const volume = await readVolume(file);
        assert.ok(volume.data instanceof Float64Array);
        assert.equal(volume.meta.storedType, unsigned ? 'uint64' : 'int64');
        assert.deepEqual(
          Array.from(volume.data),
          EXPECTED.map((v) => (unsigned ? v + 100 : v)),
        );
      }
    }));

  it('an oblique TransformMatrix lists each axis direction in turn; Position and Rotation are its synonyms', () =>
    withTempDir(async (dir) => {
      const c = Math.cos(Math.PI / 6);
      const s = Math.sin(Math.PI / 6);
      // Axis i along (c, s, 0), j along (-s, c, 0), k along z: LPS.
      const matrix = `${c} ${s} 0 ${-s} ${c} 0 0 0 1`;
      const fields = itkFields().replace('TransformMatrix = 1 0 0 0 1 0 0 0 1', `TransformMatrix = ${matrix}`);
      const header = `${fields}\nDimSize = 6 5 4\nElementType = MET_SHORT\nElementDataFile = LOCAL\n`;
      writeFileSync(join(dir, 'o.mha'), concat(header, voxelBytes('int16')));
      const volume = await readVolume(join(dir, 'o.mha'));
      const lps = (p: number[]) => [-p[0], -p[1], p[2]];
      const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 1e-9);
      assert.ok(close(lps(transformPoint(volume.affine, [1, 0, 0])), [-10 + 0.5 * c, -20 + 0.5 * s, 30]));
      assert.ok(close(lps(transformPoint(volume.affine, [0, 1, 0])), [-10 - 0.75 * s, -20 + 0.75 * c, 30]));
      const synonyms = header
        .replace('TransformMatrix', 'Rotation')
        .replace('Offset = ', 'Position = ')
        .replace('ElementSpacing', 'ElementSize');
      writeFileSync(join(dir, 'p.mha'), concat(synonyms, voxelBytes('int16')));
      assert.deepEqual([...(await readVolume(join(dir, 'p.mha'))).affine], [...volume.affine]);
    }));

  it('AnatomicalOrientation is a label, as in ITK: the TransformMatrix decides', () =>
    withTempDir(async (dir) => {
      const header = `${itkFields().replace('RAI', 'LPS')}\nDimSize = 6 5 4\nElementType = MET_SHORT\nElementDataFile = LOCAL\n`;
      writeFileSync(join(dir, 'a.mha'), concat(header, voxelBytes('int16')));
      const volume = await readVolume(join(dir, 'a.mha'));
      assert.deepEqual([...volume.affine], LPS_AFFINE_RAS);
      assert.equal(orientationOf(volume), 'LPS');
    }));

  it('.mhd with HeaderSize = -1: the voxels are the last bytes of the data file', () =>
    withTempDir(async (dir) => {
      const header = `${itkFields()}\nDimSize = 6 5 4\nElementType = MET_SHORT\nHeaderSize = -1\nElementDataFile = img.raw\n`;
      writeFileSync(join(dir, 'img.mhd'), header);
      writeFileSync(join(dir, 'img.raw'), concat(new Uint8Array(100).fill(0x7f), voxelBytes('int16')));
      assert.deepEqual(Array.from((await readVolume(join(dir, 'img.mhd'))).data), EXPECTED);
    }));

  it('ElementNumberOfChannels above 1 (a vector image) is refused by name', () =>
    withTempDir(async (dir) => {
      const header = `${itkFields()}\nDimSize = 6 5 4\nElementNumberOfChannels = 3\nElementType = MET_SHORT\nElementDataFile = LOCAL\n`;
      writeFileSync(join(dir, 'v.mha'), concat(header, voxelBytes('int16'), voxelBytes('int16'), voxelBytes('int16')));
      await assert.rejects(readVolume(join(dir, 'v.mha')), /3 channels per voxel/);
    }));
});

describe('NRRD as ITK writes it', () => {
  it('dictionary lines (key:=value, "dim[0]:=3") beside the fields', () =>
    withTempDir(async (dir) => {
      const header = [
        'NRRD0004',
        '# Complete NRRD file format specification at:',
        '# http://teem.sourceforge.net/nrrd/format.html',
        'type: short',
        'dimension: 3',
        'space: left-posterior-superior',
        'sizes: 6 5 4',
        'space directions: (0.5,0,0) (0,0.75,0) (0,0,2)',
        'kinds: domain domain domain',
        'endian: little',
        'encoding: gzip',
        'space origin: (-10,-20,30)',
        'ITK_FileNotes:=',
        'ITK_original_direction:=',
        'dim[0]:=3',
        'dim[1]:=6',
        'pixdim[1]:=0.5',
        'qform_code_name:=NIFTI_XFORM_SCANNER_ANAT',
        '',
        '',
      ].join('\n');
      writeFileSync(join(dir, 'fromnii.nrrd'), concat(header, gzipSync(voxelBytes('int16'))));
      const volume = await readVolume(join(dir, 'fromnii.nrrd'));
      assert.deepEqual(Array.from(volume.data), EXPECTED);
      assert.deepEqual([...volume.affine], LPS_AFFINE_RAS);
    }));
});
