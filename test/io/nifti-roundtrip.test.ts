import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { makePhantomCt } from '../../src/core/phantom.js';
import { orientationOf } from '../../src/core/volume.js';
import { makeLabelTable, readLabelTable } from '../../src/io/label-table.js';
import { readVolume } from '../../src/io/read.js';
import { encodeNifti, readLabelTableExtension, writeNifti } from '../../src/io/write-nifti.js';
import { indexVolume, obliqueAffine, withTempDir } from '../helpers/volumes.js';

const LPS = [-0.8, 0, 0, 100, 0, -0.8, 0, 120, 0, 0, 3, -50, 0, 0, 0, 1];
const LIA = [-1, 0, 0, 128, 0, 0, 1, -128, 0, -1, 0, 128, 0, 0, 0, 1];

describe('NIfTI write -> read round trip', () => {
  const cases: Array<[string, number[], (n: number) => Int16Array | Uint8Array | Float32Array | Uint16Array]> = [
    ['int16 LPS', LPS, (n) => new Int16Array(n)],
    ['uint8 LIA', LIA, (n) => new Uint8Array(n)],
    ['float32 oblique anisotropic', obliqueAffine(), (n) => new Float32Array(n)],
    ['uint16 oblique', obliqueAffine([2, 2, 5]), (n) => new Uint16Array(n)],
  ];
  for (const [name, affine, make] of cases) {
    it(`keeps data, dtype and affine exactly (${name})`, () =>
      withTempDir(async (dir) => {
        const volume = indexVolume([7, 5, 4], affine, make);
        const path = join(dir, 'v.nii.gz');
        await writeNifti(path, volume);
        const back = await readVolume(path);
        assert.deepEqual(back.dims, volume.dims);
        assert.equal(back.data.constructor, volume.data.constructor);
        assert.deepEqual(Array.from(back.data), Array.from(volume.data));
        // NIfTI-1 stores the affine in float32: agreement to float32 precision.
        back.affine.forEach((v, i) => assert.ok(Math.abs(v - affine[i]) < 1e-4, `affine[${i}]`));
        assert.equal(orientationOf(back), orientationOf(volume));
      }));
  }

  it('writes the same .nii.gz bytes from a nonzero box as from the whole volume (uint8 and uint16)', () =>
    withTempDir(async (dir) => {
      const makers: Array<(n: number) => Uint8Array | Uint16Array> = [
        (n) => new Uint8Array(n),
        (n) => new Uint16Array(n),
      ];
      for (const make of makers) {
        const volume = indexVolume([9, 7, 6], LPS, make);
        const box = [2, 1, 1, 6, 4, 3] as const;
        // zero everything outside the box: the writer must not need to read it
        const [nx, ny] = volume.dims;
        volume.data.forEach((_, n) => {
          const [i, j, k] = [n % nx, Math.floor(n / nx) % ny, Math.floor(n / (nx * ny))];
          const inside = i >= box[0] && i <= box[3] && j >= box[1] && j <= box[4] && k >= box[2] && k <= box[5];
          if (!inside) volume.data[n] = 0;
        });
        await writeNifti(join(dir, 'whole.nii.gz'), volume);
        await writeNifti(join(dir, 'box.nii.gz'), volume, { nonzeroBox: box });
        await writeNifti(join(dir, 'empty.nii.gz'), { ...volume, data: make(volume.data.length) });
        await writeNifti(join(dir, 'none.nii.gz'), volume, { nonzeroBox: null });
        assert.deepEqual(readFileSync(join(dir, 'box.nii.gz')), readFileSync(join(dir, 'whole.nii.gz')));
        assert.deepEqual(readFileSync(join(dir, 'none.nii.gz')), readFileSync(join(dir, 'empty.nii.gz')));
        assert.deepEqual(gunzipSync(readFileSync(join(dir, 'whole.nii.gz'))), Buffer.from(encodeNifti(volume)));
      }
    }));

  it('writes a uint8 volume asMask as the file of its 0/1 copy, with or without a box', () =>
    withTempDir(async (dir) => {
      const volume = indexVolume([9, 7, 6], LPS, (n) => new Uint8Array(n));
      volume.data.forEach((v, n) => (volume.data[n] = n % 3 === 0 || n < 100 ? 0 : v));
      await writeNifti(join(dir, 'copy.nii.gz'), { ...volume, data: volume.data.map((v) => (v ? 1 : 0)) });
      await writeNifti(join(dir, 'mask.nii.gz'), volume, { asMask: true });
      await writeNifti(join(dir, 'boxed.nii.gz'), volume, { asMask: true, nonzeroBox: [0, 0, 0, 8, 6, 5] });
      assert.deepEqual(readFileSync(join(dir, 'mask.nii.gz')), readFileSync(join(dir, 'copy.nii.gz')));
      assert.deepEqual(readFileSync(join(dir, 'boxed.nii.gz')), readFileSync(join(dir, 'copy.nii.gz')));
    }));

  it('writes a NIfTI input back with its own qform/sform fields untouched', () =>
    withTempDir(async (dir) => {
      const first = join(dir, 'a.nii');
      await writeNifti(
        first,
        indexVolume([4, 3, 2], obliqueAffine(), (n) => new Int16Array(n)),
      );
      const read = await readVolume(first);
      const second = join(dir, 'b.nii');
      await writeNifti(second, { ...read, data: new Uint8Array(read.data.length).fill(1) });
      const a = readFileSync(first);
      const b = readFileSync(second);
      // Bytes 252..344 hold qform/sform codes, quaternion, offsets and srows.
      assert.deepEqual(b.subarray(252, 344), a.subarray(252, 344));
      assert.deepEqual(b.subarray(76, 92), a.subarray(76, 92), 'pixdim[0..3] incl. qfac');
    }));

  it('stores the label table in a NIfTI extension and a JSON sidecar', () =>
    withTempDir(async (dir) => {
      const table = makeLabelTable([
        { value: 2, name: 'Spleen', id: 'spleen', color: [157, 108, 162] },
        { value: 1, name: 'Liver', id: 'liver', color: [221, 130, 101] },
      ]);
      const path = join(dir, 'labels.nii.gz');
      await writeNifti(
        path,
        indexVolume([3, 3, 3], LPS, (n) => new Uint8Array(n)),
        { labelTable: table },
      );
      const fromExtension = readLabelTableExtension(gunzipSync(readFileSync(path)));
      assert.deepEqual(
        fromExtension?.labels.map((l) => l.name),
        ['Liver', 'Spleen'],
      );
      const sidecar = readLabelTable(join(dir, 'labels.json'));
      assert.deepEqual(sidecar.niivue?.labels, ['background', 'Liver', 'Spleen']);
      assert.deepEqual(sidecar.niivue?.I, [0, 1, 2]);
      // The extension shifts the voxel data; the image must still read back intact.
      const back = await readVolume(path);
      assert.equal(back.data[26], 26);
    }));

  it('leaves no partial file behind and keeps the phantom readable', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'phantom.nii.gz');
      await writeNifti(path, makePhantomCt({ dims: [32, 32, 16] }));
      assert.deepEqual(readdirSync(dir), ['phantom.nii.gz']);
      const back = await readVolume(path);
      assert.equal(orientationOf(back), 'LPS');
    }));
});

describe('NIfTI reading details', () => {
  it('applies scl_slope/scl_inter, keeping integer HU as int16', () =>
    withTempDir(async (dir) => {
      const bytes = encodeNifti(indexVolume([4, 4, 4], LPS, (n) => new Int16Array(n)));
      const view = new DataView(bytes.buffer);
      view.setFloat32(112, 1, true);
      view.setFloat32(116, -1000, true);
      const path = join(dir, 'ct.nii');
      writeFileSync(path, bytes);
      const volume = await readVolume(path);
      assert.ok(volume.data instanceof Int16Array);
      assert.equal(volume.data[5], 5 - 1000);
    }));

  it('reads a big-endian file the same as a little-endian one', () =>
    withTempDir(async (dir) => {
      const volume = indexVolume([3, 4, 5], LPS, (n) => new Float32Array(n));
      const le = encodeNifti(volume);
      const be = toBigEndian(le);
      writeFileSync(join(dir, 'be.nii.gz'), gzipSync(be));
      const back = await readVolume(join(dir, 'be.nii.gz'));
      assert.deepEqual(Array.from(back.data), Array.from(volume.data));
      back.affine.forEach((v, i) => assert.ok(Math.abs(v - LPS[i]) < 1e-5));
    }));

  it('keeps the stated voxel size apart from an affine that disagrees with it', () =>
    withTempDir(async (dir) => {
      const bytes = encodeNifti(
        indexVolume([3, 3, 3], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], (n) => new Uint8Array(n)),
      );
      const view = new DataView(bytes.buffer);
      [1.5, 1.5, 10].forEach((v, i) => view.setFloat32(80 + 4 * i, v, true));
      view.setInt16(252, 0, true);
      writeFileSync(join(dir, 'acdc-like.nii'), bytes);
      const volume = await readVolume(join(dir, 'acdc-like.nii'));
      assert.deepEqual(volume.affine.slice(0, 3), [1, 0, 0], 'affine as nibabel: from the sform');
      assert.deepEqual(volume.spacing, [1.5, 1.5, 10]);
    }));
});

/** Rewrites a little-endian NIfTI-1 (header fields and 4-byte voxels) as big-endian. */
function toBigEndian(le: Uint8Array): Uint8Array {
  const out = new Uint8Array(le);
  const src = new DataView(le.buffer, le.byteOffset);
  const dst = new DataView(out.buffer);
  const int16 = [40, 42, 44, 46, 48, 50, 52, 54, 68, 70, 72, 74, 120, 252, 254];
  const fourByte = [0, 56, 60, 64, 76, 80, 84, 88, 92, 96, 100, 104, 108, 112, 116, 124, 128, 132, 136, 140, 144];
  for (let o = 256; o < 328; o += 4) fourByte.push(o);
  for (const o of int16) dst.setInt16(o, src.getInt16(o, true), false);
  for (const o of fourByte) dst.setUint32(o, src.getUint32(o, true), false);
  for (let o = 352; o + 4 <= le.length; o += 4) dst.setUint32(o, src.getUint32(o, true), false);
  return out;
}
