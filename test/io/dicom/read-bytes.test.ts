/**
 * The DICOM reader over bytes in memory (what the in-browser engine reads: files chosen or dropped, a
 * folder's, or one .zip) against the same reader over files on disk: the same series, voxel for voxel,
 * with the same geometry and metadata, and the same refusals of hostile input.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import type { MedparseError } from '../../../src/core/errors.js';
import { readFileMetaInformation } from '../../../src/io/dicom/element-walker.js';
import { readDicomSeries } from '../../../src/io/dicom/index.js';
import { openDicomBytes } from '../../../src/io/read-bytes.js';
import type { NamedBytes } from '../../../src/io/dicom/sources.js';
import { REPO_ROOT } from '../../helpers/shared.js';
import { assertSameVolume, makeTempDir } from '../../helpers/volumes.js';
import { writeSeries, type SeriesSpec } from './make-series.js';

let root: { path: string; cleanup: () => void };
let counter = 0;
before(() => {
  root = makeTempDir();
});
after(() => root.cleanup());

/** Every file under `folder`, named by its path below the folder's parent (as a browser names a chosen folder's files). */
async function filesOf(folder: string): Promise<NamedBytes[]> {
  const files: NamedBytes[] = [];
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.push({ name: relative(join(folder, '..'), path), bytes: new Uint8Array(await readFile(path)) });
  }
  return files;
}

async function generated(spec: SeriesSpec): Promise<string> {
  return (await writeSeries(join(root.path, `series-${++counter}`), spec)).folder;
}

describe('DICOM from bytes in memory equals DICOM from files', () => {
  const cases: Array<[string, SeriesSpec]> = [
    ['an oblique CT, shuffled file order', { orientation: 'oblique', slices: 9, sliceSpacing: 2.5 }],
    ['a sagittal series with slope 0.5 (Float32)', { orientation: 'sagittal', rescaleSlope: 0.5 }],
    ['implicit VR, RLE', { syntax: 'rle' }],
    ['one enhanced multi-frame file', { multiFrame: true, slices: 6 }],
  ];
  for (const [name, spec] of cases) {
    it(name, async () => {
      const folder = await generated(spec);
      const opened = await openDicomBytes(await filesOf(folder), folder);
      assertSameVolume(await opened.load(), await readDicomSeries(folder));
    });
  }

  it('a .zip of the series, read from its bytes, equals the folder and the .zip on disk', async () => {
    const folder = await generated({ orientation: 'coronal', slices: 7 });
    const entries = Object.fromEntries((await filesOf(folder)).map((file) => [file.name, file.bytes]));
    const zip = zipSync(entries, { level: 6 });
    const zipPath = join(root.path, `series-${++counter}.zip`);
    await writeFile(zipPath, zip);
    const fromBytes = await (await openDicomBytes([{ name: 'series.zip', bytes: zip }], 'series.zip')).load();
    assertSameVolume(fromBytes, await readDicomSeries(folder));
    assertSameVolume(fromBytes, await readDicomSeries(zipPath));
  });

  it('files without SeriesInstanceUID get the same derived UID and note', async () => {
    const folder = await generated({ seriesUid: '' });
    const fromBytes = await (await openDicomBytes(await filesOf(folder), folder)).load();
    const fromFiles = await readDicomSeries(folder);
    assertSameVolume(fromBytes, fromFiles);
    assert.match(fromBytes.meta.dicom?.seriesInstanceUid ?? '', /^2\.25\.\d+$/);
    assert.deepEqual(fromBytes.meta.notes, fromFiles.meta.notes);
  });

  it("the header gives the series' grid, voxel size and modality before a pixel is read", async () => {
    const folder = await generated({ pixelSpacing: [0.8, 0.7], sliceSpacing: 3, slices: 5 });
    const { header } = await openDicomBytes(await filesOf(folder), folder);
    const volume = await readDicomSeries(folder);
    assert.deepEqual(header.dims, volume.dims);
    assert.deepEqual(
      header.spacing.map((v) => v.toFixed(6)),
      [0.7, 0.8, 3].map((v) => v.toFixed(6)),
    );
    assert.equal(header.modality, 'CT');
  });
});

describe('compressed DICOM from bytes decodes as from files', () => {
  const fixtures = join(REPO_ROOT, 'test/fixtures/dicom-codecs');
  for (const [fixture, encoding] of [
    ['ct-int16', 'jpeg-ls'],
    ['ct-int16', 'j2k'],
    ['ct-int16', 'jpeg-lossless'],
    ['ct-uint12', 'htj2k'],
    ['enhanced-multiframe', 'jpeg-ls'],
  ]) {
    it(`${fixture}/${encoding}`, async () => {
      const folder = join(fixtures, fixture, encoding);
      const fromBytes = await (await openDicomBytes(await filesOf(folder), folder)).load();
      assertSameVolume(fromBytes, await readDicomSeries(folder));
    });
  }
});

describe('the Deflated transfer syntax from bytes reads as from files', () => {
  it('equals the native series it was deflated from', async () => {
    const native = join(REPO_ROOT, 'test/fixtures/dicom-codecs/ct-int16/native');
    const folder = join(root.path, `deflated-${++counter}`);
    await mkdir(folder);
    for (const name of await readdir(native)) {
      const bytes = new Uint8Array(await readFile(join(native, name)));
      await writeFile(join(folder, name), deflatedCopy(bytes));
    }
    const fromBytes = await (await openDicomBytes(await filesOf(folder), folder)).load();
    const fromFiles = await readDicomSeries(folder);
    assertSameVolume(fromBytes, fromFiles);
    assert.deepEqual(fromFiles.data, (await readDicomSeries(native)).data);
  });
});

/** The file with its meta group's transfer syntax set to Deflated and its dataset deflated (PS3.5 A.5). */
function deflatedCopy(bytes: Uint8Array): Uint8Array {
  const dict = dcmjs.data.DicomMessage.readFile(bytes.slice().buffer);
  dict.meta['00020010'].Value = ['1.2.840.10008.1.2.1.99'];
  // dcmjs writes the dataset itself uncompressed; deflate what follows the meta group
  const written = new Uint8Array(dict.write());
  const start = readFileMetaInformation(written, 132)?.datasetStart ?? 0;
  const deflated = deflateRawSync(written.subarray(start));
  const out = new Uint8Array(start + deflated.length);
  out.set(written.subarray(0, start));
  out.set(deflated, start);
  return out;
}

describe('hostile DICOM bytes are refused as hostile files are', () => {
  it('a .zip claiming far more than its size is refused before inflating, naming the archive', async () => {
    const folder = await generated({ slices: 6 });
    const entries = Object.fromEntries((await filesOf(folder)).map((file) => [file.name, file.bytes]));
    const zip = zipSync(entries, { level: 6 });
    const view = new DataView(zip.buffer, zip.byteOffset);
    for (let at = 0; at + 46 <= zip.length; at++)
      if (view.getUint32(at, true) === 0x02014b50) view.setUint32(at + 24, 2 ** 30, true);
    await assert.rejects(openDicomBytes([{ name: 'bomb.zip', bytes: zip }], 'bomb.zip'), (error: MedparseError) => {
      assert.equal(error.code, 'CORRUPT_FILE');
      assert.match(error.message, /^bomb\.zip: .*zip bomb/);
      return true;
    });
  });

  it('an entry that inflates past its declared size is refused', async () => {
    const folder = await generated({ slices: 4 });
    const entries = Object.fromEntries((await filesOf(folder)).map((file) => [file.name, file.bytes]));
    const zip = zipSync(entries, { level: 6 });
    const view = new DataView(zip.buffer, zip.byteOffset);
    for (let at = 0; at + 46 <= zip.length; at++)
      if (view.getUint32(at, true) === 0x02014b50) view.setUint32(at + 24, view.getUint32(at + 24, true) - 100, true);
    await assert.rejects(
      openDicomBytes([{ name: 's.zip', bytes: zip }], 's.zip').then((o) => o.load()),
      {
        code: 'CORRUPT_FILE',
        message: /decompression bomb|fewer bytes|CRC/,
      },
    );
  });

  it('a truncated file is named, with what to do', async () => {
    const folder = await generated({ slices: 4 });
    const files = await filesOf(folder);
    files[1] = { name: files[1].name, bytes: files[1].bytes.subarray(0, files[1].bytes.length - 50) };
    await assert.rejects(openDicomBytes(files, folder), (error: MedparseError) => {
      assert.equal(error.code, 'TRUNCATED_FILE');
      assert.ok(error.message.startsWith(`${files[1].name}: `), error.message);
      assert.match(error.message, /copy or export the series again/);
      return true;
    });
  });

  it('files that are not DICOM alone are refused as an empty series', async () => {
    const files = [{ name: 'notes.txt', bytes: new TextEncoder().encode('not an image') }];
    await assert.rejects(openDicomBytes(files, 'chosen files'), { code: 'EMPTY_INPUT', message: /no DICOM images/ });
  });
});
