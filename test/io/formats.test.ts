import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { transformPoint } from '../../src/core/affine.js';
import { orientationOf } from '../../src/core/volume.js';
import { readVolume } from '../../src/io/read.js';
import { withTempDir } from '../helpers/volumes.js';

/** 3x2x2 int16 voxels valued 0..11, little-endian. */
function rampBytes(littleEndian = true): Uint8Array {
  const out = new Uint8Array(24);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 12; i++) view.setInt16(2 * i, i * 10 - 50, littleEndian);
  return out;
}

function concat(header: string, data: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

const EXPECTED = Array.from({ length: 12 }, (_, i) => i * 10 - 50);

describe('NRRD', () => {
  it('reads raw LPS data into a RAS affine', () =>
    withTempDir(async (dir) => {
      const header =
        'NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 3 2 2\n' +
        'space directions: (0.5,0,0) (0,0.7,0) (0,0,2)\nspace origin: (10,20,30)\nendian: little\nencoding: raw\n\n';
      writeFileSync(join(dir, 'a.nrrd'), concat(header, rampBytes()));
      const v = await readVolume(join(dir, 'a.nrrd'));
      assert.deepEqual(Array.from(v.data), EXPECTED);
      assert.deepEqual([...v.affine], [-0.5, -0, -0, -10, -0, -0.7, -0, -20, 0, 0, 2, 30, 0, 0, 0, 1]);
      assert.equal(orientationOf(v), 'LPS');
    }));

  it('reads gzip big-endian data and a detached header (.nhdr)', () =>
    withTempDir(async (dir) => {
      const header =
        'NRRD0004\ntype: int16\ndimension: 3\nspace: RAS\nsizes: 3 2 2\nspace directions: (1,0,0) (0,1,0) (0,0,1)\n' +
        'endian: big\nencoding: gzip\ndata file: a.raw.gz\n\n';
      writeFileSync(join(dir, 'a.nhdr'), header);
      writeFileSync(join(dir, 'a.raw.gz'), gzipSync(rampBytes(false)));
      const v = await readVolume(join(dir, 'a.nhdr'));
      assert.deepEqual(Array.from(v.data), EXPECTED);
    }));

  it('picks a frame of a 4D NRRD with a leading list axis', () =>
    withTempDir(async (dir) => {
      const header =
        'NRRD0004\ntype: short\ndimension: 4\nspace: RAS\nsizes: 2 3 2 2\nkinds: list domain domain domain\n' +
        'space directions: none (1,0,0) (0,1,0) (0,0,1)\nencoding: raw\n\n';
      const data = new Uint8Array(48);
      const view = new DataView(data.buffer);
      for (let i = 0; i < 12; i++) {
        view.setInt16(4 * i, EXPECTED[i], true);
        view.setInt16(4 * i + 2, 1000 + i, true);
      }
      writeFileSync(join(dir, 'b.nrrd'), concat(header, data));
      await assert.rejects(readVolume(join(dir, 'b.nrrd')), /--volume/);
      const second = await readVolume(join(dir, 'b.nrrd'), { volume: 1 });
      assert.equal(second.data[3], 1003);
      assert.deepEqual(second.dims, [3, 2, 2]);
    }));
});

describe('MetaImage', () => {
  it('reads .mha with an LPS direction matrix whose triples are the axes', () =>
    withTempDir(async (dir) => {
      // Axis i along +y (posterior in LPS), axis j along +x (left), axis k along +z.
      const header =
        'ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n' +
        'TransformMatrix = 0 1 0 1 0 0 0 0 1\nOffset = 1 2 3\nElementSpacing = 0.5 0.7 2\nDimSize = 3 2 2\n' +
        'ElementType = MET_SHORT\nElementDataFile = LOCAL\n';
      writeFileSync(join(dir, 'a.mha'), concat(header, rampBytes()));
      const v = await readVolume(join(dir, 'a.mha'));
      assert.deepEqual(Array.from(v.data), EXPECTED);
      // Voxel (1,0,0) is 0.5 mm posterior of the origin; RAS y decreases.
      assert.deepEqual(transformPoint(v.affine, [1, 0, 0]), [-1, -2.5, 3]);
      assert.deepEqual(transformPoint(v.affine, [0, 1, 0]), [-1.7, -2, 3]);
      assert.equal(orientationOf(v), 'PLS');
    }));

  it('reads .mhd with compressed data in a separate file', () =>
    withTempDir(async (dir) => {
      const header =
        'ObjectType = Image\nNDims = 3\nCompressedData = True\nDimSize = 3 2 2\nElementType = MET_SHORT\n' +
        'ElementSpacing = 1 1 1\nElementDataFile = a.zraw\n';
      writeFileSync(join(dir, 'a.mhd'), header);
      writeFileSync(join(dir, 'a.zraw'), deflateSync(rampBytes()));
      const v = await readVolume(join(dir, 'a.mhd'));
      assert.deepEqual(Array.from(v.data), EXPECTED);
      assert.equal(orientationOf(v), 'LPS');
    }));
});
