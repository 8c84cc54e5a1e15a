/**
 * Series without SeriesInstanceUID are grouped by what their images share (as dcm2niix does), and files
 * that are not DICOM are skipped with a note instead of stopping the read.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MedparseError } from '../../../src/core/errors.js';
import { listDicomSeries, readDicomSeries } from '../../../src/io/dicom/index.js';
import type { SeriesSpec } from './make-series.js';
import { newUid, writeSeries, zipFiles } from './make-series.js';
import { makeTempDir, maxAbsDifference } from '../../helpers/volumes.js';

let root: { path: string; cleanup: () => void };
let counter = 0;
before(() => {
  root = makeTempDir();
});
after(() => root.cleanup());

const folder = () => join(root.path, `case-${++counter}`);

describe('series without SeriesInstanceUID', () => {
  it('one such series is read whole, with a note and a derived 2.25 UID', async () => {
    const series = await writeSeries(folder(), { seriesUid: '', orientation: 'oblique', slices: 5 });
    const volume = await readDicomSeries(series.folder);
    assert.deepEqual(volume.dims, series.dims);
    assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
    assert.ok(maxAbsDifference(volume.affine, series.expectedAffine) < 1e-6);
    assert.match(volume.meta.dicom?.seriesInstanceUid ?? '', /^2\.25\.\d+$/);
    assert.ok((volume.meta.dicom?.seriesInstanceUid.length ?? 99) <= 64);
    assert.ok(
      volume.meta.notes?.some((note) => /5 DICOM file\(s\) have no SeriesInstanceUID.*into 1 series/.test(note)),
      String(volume.meta.notes),
    );
  });

  it('images differing in orientation, series number or study are told apart, and each is readable by its UID', async () => {
    const base = folder();
    const studyUid = newUid();
    const common: SeriesSpec = { seriesUid: '', studyUid, slices: 3 };
    const axial = await writeSeries(base, { ...common, subfolder: 'a', orientation: 'axial', seriesNumber: 2 });
    const sagittal = await writeSeries(base, { ...common, subfolder: 's', orientation: 'sagittal', seriesNumber: 2 });
    const later = await writeSeries(base, {
      ...common,
      subfolder: 'l',
      orientation: 'axial',
      seriesNumber: 7,
      valueOffset: 100,
    });
    const listed = await listDicomSeries(base);
    assert.equal(listed.length, 3);
    assert.ok(listed.every((summary) => summary.derivedUid && summary.sliceCount === 3));
    // The same files get the same UIDs on every read.
    assert.deepEqual(
      (await listDicomSeries(base)).map((summary) => summary.seriesInstanceUid),
      listed.map((summary) => summary.seriesInstanceUid),
    );
    await assert.rejects(readDicomSeries(base), (error: MedparseError) => {
      assert.equal(error.code, 'MULTIPLE_SERIES');
      assert.match(error.message, /UID derived by medparse/);
      return true;
    });
    for (const expected of [axial, sagittal, later]) {
      const matches: string[] = [];
      for (const summary of listed) {
        const volume = await readDicomSeries(base, { series: summary.seriesInstanceUid });
        if (
          maxAbsDifference(volume.affine, expected.expectedAffine) < 1e-6 &&
          maxAbsDifference(volume.data, expected.expectedValues) === 0
        )
          matches.push(summary.seriesInstanceUid);
      }
      assert.equal(matches.length, 1, `${expected.folder} is one listed series`);
    }
  });

  it('files with and without the UID do not mix: the UID-less ones form their own series', async () => {
    const base = folder();
    const studyUid = newUid();
    await writeSeries(base, { studyUid, subfolder: 'with', slices: 3 });
    await writeSeries(base, { studyUid, subfolder: 'without', seriesUid: '', slices: 4 });
    const listed = await listDicomSeries(base);
    assert.deepEqual(listed.map((summary) => [summary.sliceCount, summary.derivedUid ?? false]).sort(), [
      [3, false],
      [4, true],
    ]);
  });
});

describe('stray files beside a series', () => {
  const strays: Record<string, Uint8Array> = {
    'README.txt': new TextEncoder().encode('CT export from PACS\n'),
    '.DS_Store': new Uint8Array([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31, ...new Array(56).fill(7)]),
    // Starts like a DICOM meta group without preamble (02 00), then is not one.
    'checksums.bin': new Uint8Array([0x02, 0x00, 0x10, 0x00, 0x3f, 0x3f, 0x01, 0x02, ...new Array(40).fill(9)]),
  };

  it('a folder: the series is read, and a note names the skipped files', async () => {
    const series = await writeSeries(folder(), { slices: 3 });
    for (const [name, bytes] of Object.entries(strays)) await writeFile(join(series.folder, name), bytes);
    const volume = await readDicomSeries(series.folder);
    assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
    const note = volume.meta.notes?.find((line) => line.startsWith('skipped 3 file(s) that are not DICOM'));
    assert.ok(note, String(volume.meta.notes));
    for (const name of Object.keys(strays)) assert.ok(note.includes(name), `${name} in "${note}"`);
  });

  it('a zip: the same', async () => {
    const series = await writeSeries(folder(), { slices: 3 });
    const files: Record<string, Uint8Array> = { ...strays };
    for (const file of series.files) files[`series/${file.slice(file.lastIndexOf('/') + 1)}`] = await readFile(file);
    const zipPath = join(root.path, `stray-${counter}.zip`);
    await zipFiles(files, zipPath);
    const volume = await readDicomSeries(zipPath);
    assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
    assert.ok(volume.meta.notes?.some((line) => line.startsWith('skipped 3 file(s) that are not DICOM')));
  });

  it('a folder of nothing but stray files is still EMPTY_INPUT', async () => {
    const base = folder();
    await writeSeries(base, { slices: 1, subfolder: 'unused' });
    const only = join(base, 'strays');
    await import('node:fs/promises').then((fs) => fs.mkdir(only));
    for (const [name, bytes] of Object.entries(strays)) await writeFile(join(only, name), bytes);
    await assert.rejects(readDicomSeries(only), (error: MedparseError) => error.code === 'EMPTY_INPUT');
  });
});
