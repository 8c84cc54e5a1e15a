/**
 * The file-system-free reader (src/io/read-bytes.ts, the in-browser engine's) gives readVolume's volume
 * for every single-file format, and refuses what it cannot read with a line saying what to do. Both
 * readers are one front end (src/io/open-image.ts) over a file (Node) or the file's bytes (browser).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makePhantomCt } from '../../src/core/phantom.js';
import { spacingOf } from '../../src/core/volume.js';
import { bufferSource } from '../../src/io/buffer-source.js';
import { fileSource } from '../../src/io/file-source.js';
import { formatFromExtension } from '../../src/io/formats.js';
import { openImage, probeImage, type SingleFileFormat } from '../../src/io/open-image.js';
import { openVolumeBytes, readVolumeBytes } from '../../src/io/read-bytes.js';
import { readVolume } from '../../src/io/read.js';
import { encodeNifti } from '../../src/io/write-nifti.js';
import { encodeImageFile } from '../helpers/image-files.js';
import { assertSameVolume, withTempDir } from '../helpers/volumes.js';

const phantom = makePhantomCt({ dims: [24, 20, 12], spacing: [1.5, 1.25, 3] });

const FILES: Array<[string, () => Uint8Array]> = [
  ['phantom.nii', () => encodeNifti(phantom)],
  ['phantom.nii.gz', () => gzipSync(encodeNifti(phantom))],
  ['phantom.mgz', () => encodeImageFile(phantom, 'mgz')],
  ['phantom.nrrd', () => encodeImageFile(phantom, 'nrrd')],
  ['phantom.mha', () => encodeImageFile(phantom, 'mha')],
];

describe('readVolumeBytes reads what readVolume reads', () => {
  for (const [name, encode] of FILES)
    it(name, () =>
      withTempDir(async (dir) => {
        const bytes = encode();
        writeFileSync(join(dir, name), bytes);
        const onNode = await readVolume(join(dir, name));
        const fromBytes = await readVolumeBytes(new Uint8Array(readFileSync(join(dir, name))), name);
        assertSameVolume(fromBytes, onNode);
        // the header's voxel size (what the memory estimate plans with) is the volume's
        const { header } = await openVolumeBytes(new Uint8Array(readFileSync(join(dir, name))), name);
        assert.deepEqual(header.spacing, spacingOf(onNode));
        // and its affine, where the format may shear it (a tilted grid is estimated straightened)
        if (header.affine) assert.deepEqual(header.affine, onNode.affine);
        assert.equal(header.affine !== undefined, /\.(nii(\.gz)?|nrrd)$/.test(name), `${name}: header affine`);
        // and both are the phantom's voxels
        assert.deepEqual(Array.from(fromBytes.data), Array.from(phantom.data));
      }),
    );

  for (const [name, encode] of FILES)
    it(`${name}: one front end, over the file and over its bytes`, () =>
      withTempDir(async (dir) => {
        const path = join(dir, name);
        writeFileSync(path, encode());
        const format = formatFromExtension(name) as SingleFileFormat;
        const open = async (source: ReturnType<typeof fileSource>) => {
          const admitted: string[] = [];
          const opened = openImage(format, await probeImage(source), {}, (header) => {
            admitted.push(header.file);
            return header;
          });
          return { opened, admitted, volume: await opened.load() };
        };
        const overFile = await open(fileSource(path));
        const overBytes = await open(bufferSource(new Uint8Array(readFileSync(path)), path));
        assert.deepEqual(overBytes.opened.header, overFile.opened.header);
        assert.deepEqual(overBytes.opened.spacing(), overFile.opened.spacing());
        assert.equal(overBytes.opened.modality, overFile.opened.modality);
        // the header is admitted once, before a voxel is read, whatever the source
        assert.deepEqual(overFile.admitted, [path]);
        assert.deepEqual(overBytes.admitted, [path]);
        assert.deepEqual(overBytes.volume, overFile.volume);
      }));

  it('gives the header before any voxel is decoded', async () => {
    const opened = await openVolumeBytes(encodeImageFile(phantom, 'nrrd'), 'phantom.nrrd');
    const { affine, ...facts } = opened.header;
    assert.deepEqual(facts, {
      file: 'phantom.nrrd',
      format: 'nrrd',
      dims: [24, 20, 12],
      bytesPerVoxel: 2,
      spacing: [1.5, 1.25, 3],
    });
    assert.deepEqual(affine, (await opened.load()).affine);
  });
});

describe('readVolumeBytes refuses, in one line, what it cannot read', () => {
  it('a detached data file (.nhdr), DICOM and an unknown extension', async () => {
    const nhdr = 'NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: a.raw\n\n';
    await assert.rejects(
      readVolumeBytes(new TextEncoder().encode(nhdr), 'a.nhdr'),
      /names a separate data file \("a\.raw"\), which cannot be read here; open a \.nrrd with attached data/,
    );
    await assert.rejects(readVolumeBytes(new Uint8Array(200), 'scan.zip'), /DICOM is not read here/);
    await assert.rejects(readVolumeBytes(new Uint8Array(200), 'scan.png'), /this extension is not read here/);
  });

  it('a file whose content is another format than its extension says', async () => {
    await assert.rejects(
      readVolumeBytes(encodeImageFile(phantom, 'nrrd'), 'scan.mha'),
      /the extension says metaimage but the content is nrrd/,
    );
  });

  it('a truncated .nii.gz and a gzip that inflates past what its header describes', async () => {
    const gz = gzipSync(encodeNifti(phantom));
    await assert.rejects(readVolumeBytes(gz.subarray(0, gz.length >> 1), 'cut.nii.gz'), /end early or are corrupt/);
    // a valid header followed by far more data than its dimensions describe: a decompression bomb
    const bomb = gzipSync(Buffer.concat([encodeNifti(phantom), Buffer.alloc(3 << 20)]));
    await assert.rejects(readVolumeBytes(bomb, 'bomb.nii.gz'), /inflates past the \d+ bytes its header describes/);
  });
});
