import assert from 'node:assert/strict';
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProgressEvent } from '../../../src/core/progress.js';
import { readFileMetaInformation } from '../../../src/io/dicom/element-walker.js';
import { listDicomSeries, readDicomSeries } from '../../../src/io/dicom/index.js';
import type { SeriesSpec } from './make-series.js';
import { writeSeries, writeSeriesPerSlice, zipFiles } from './make-series.js';
import { makeTempDir, maxAbsDifference } from '../../helpers/volumes.js';

let root: { path: string; cleanup: () => void };
let counter = 0;
before(() => {
  root = makeTempDir();
});
after(() => root.cleanup());

async function generate(spec: SeriesSpec = {}) {
  return writeSeries(join(root.path, `series-${++counter}`), spec);
}

async function filesUnder(folder: string): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath ?? entry.path, entry.name);
      out[relative(folder, path)] = new Uint8Array(await readFile(path));
    }
  }
  return out;
}

describe('DICOM voxel values (HU after rescale)', () => {
  const cases: Array<[string, SeriesSpec, 'Int16Array' | 'Float32Array', string]> = [
    ['unsigned 16-bit, intercept -1024', { rescaleIntercept: -1024 }, 'Int16Array', 'uint16'],
    ['signed 16-bit, intercept 0', { signed: true, rescaleIntercept: 0 }, 'Int16Array', 'int16'],
    ['slope 0.5 gives Float32', { rescaleSlope: 0.5, rescaleIntercept: -1024 }, 'Float32Array', 'uint16'],
    ['fractional intercept gives Float32', { rescaleIntercept: -1024.5 }, 'Float32Array', 'uint16'],
    ['12 bits stored in 16', { bitsStored: 12, rescaleIntercept: -1024 }, 'Int16Array', 'uint16'],
    ['signed 12 bits stored in 16', { bitsStored: 12, signed: true, rescaleIntercept: 0 }, 'Int16Array', 'int16'],
    ['8-bit unsigned', { bitsAllocated: 8, rescaleSlope: 8, rescaleIntercept: -1000 }, 'Float32Array', 'uint8'],
    ['32-bit signed', { bitsAllocated: 32, signed: true, rescaleIntercept: 0 }, 'Int16Array', 'int32'],
    ['MONOCHROME1 is inverted', { photometric: 'MONOCHROME1', rescaleIntercept: -1024 }, 'Int16Array', 'uint16'],
    ['implicit VR little endian', { syntax: 'implicit-le' }, 'Int16Array', 'uint16'],
    ['explicit VR big endian', { syntax: 'explicit-be', signed: true, rescaleIntercept: 0 }, 'Int16Array', 'int16'],
    ['RLE lossless', { syntax: 'rle', rescaleIntercept: -1024 }, 'Int16Array', 'uint16'],
    [
      'RLE lossless, signed, multi-frame',
      { syntax: 'rle', signed: true, rescaleIntercept: 0, multiFrame: true },
      'Int16Array',
      'int16',
    ],
  ];
  for (const [name, spec, type, storedType] of cases) {
    it(name, async () => {
      const series = await generate({ orientation: 'oblique', ...spec });
      const volume = await readDicomSeries(series.folder);
      assert.equal(volume.data.constructor.name, type);
      assert.equal(volume.meta.storedType, storedType);
      assert.deepEqual(volume.dims, series.dims);
      assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
      assert.ok(maxAbsDifference(volume.affine, series.expectedAffine) < 1e-6);
    });
  }

  it('unsigned values beyond int16 after rescale switch the volume to Float32 without losing values', async () => {
    // Unsigned 16-bit with intercept 0 and values 32000..32792: the Int16 guess must give way.
    const series = await generate({ rescaleIntercept: 0, valueOffset: 33000, signed: false });
    const volume = await readDicomSeries(series.folder);
    assert.equal(volume.data.constructor.name, 'Float32Array');
    assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
  });
});

describe('DICOM inputs', () => {
  it('shuffled file names give the same volume as another shuffle', async () => {
    const a = await generate({ seed: 1, seriesUid: '1.2.826.0.1.1', studyUid: '1.2.826.0.1' });
    const b = await generate({ seed: 12345, seriesUid: '1.2.826.0.1.1', studyUid: '1.2.826.0.1' });
    const [va, vb] = [await readDicomSeries(a.folder), await readDicomSeries(b.folder)];
    assert.deepEqual(va.affine, vb.affine);
    assert.deepEqual([...va.data], [...vb.data]);
  });

  it('a .zip reads the same as its folder, and files without extension or in sub-folders are found', async () => {
    const base = join(root.path, `nested-${++counter}`);
    const series = await writeSeries(base, { subfolder: 'DICOM/S1', extension: false, orientation: 'oblique' });
    const zipPath = join(root.path, `nested-${counter}.zip`);
    await zipFiles(await filesUnder(base), zipPath);
    const fromFolder = await readDicomSeries(base);
    const fromZip = await readDicomSeries(zipPath);
    assert.deepEqual(fromZip.affine, fromFolder.affine);
    assert.deepEqual([...fromZip.data], [...fromFolder.data]);
    assert.equal(maxAbsDifference(fromZip.data, series.expectedValues), 0);
  });

  it('files without preamble and meta header (raw implicit VR datasets) are accepted', async () => {
    const series = await generate({ syntax: 'implicit-le' });
    for (const file of series.files) {
      const bytes = new Uint8Array(await readFile(file));
      const meta = readFileMetaInformation(bytes, 132);
      await writeFile(file, bytes.subarray(meta?.datasetStart ?? 0));
    }
    const volume = await readDicomSeries(series.folder);
    assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
  });

  it('non-DICOM files next to the series (README, DICOMDIR-like junk) are ignored', async () => {
    const series = await generate();
    await writeFile(join(series.folder, 'README.txt'), 'not an image\n');
    await writeFile(join(series.folder, '.DS_Store'), new Uint8Array(64));
    const volume = await readDicomSeries(series.folder);
    assert.equal(volume.dims[2], series.dims[2]);
  });

  it('a single multi-frame file can be read directly', async () => {
    const series = await generate({ multiFrame: true });
    const volume = await readDicomSeries(series.files[0]);
    assert.equal(maxAbsDifference(volume.data, series.expectedValues), 0);
  });

  it('meta carries modality, description and the DICOM identifiers in slice order', async () => {
    const series = await generate({ modality: 'CT', description: 'Chest 1.25mm', reverseInstanceOrder: true });
    const volume = await readDicomSeries(series.folder);
    assert.equal(volume.meta.sourceFormat, 'dicom');
    assert.equal(volume.meta.sourcePath, series.folder);
    assert.equal(volume.meta.modality, 'CT');
    assert.equal(volume.meta.description, 'Chest 1.25mm');
    assert.equal(volume.meta.dicom?.seriesInstanceUid, series.seriesUid);
    assert.equal(volume.meta.dicom?.studyInstanceUid, series.studyUid);
    assert.equal(volume.meta.dicom?.frameOfReferenceUid, `${series.studyUid}.1`.slice(0, 64));
    assert.equal(volume.meta.dicom?.sopClassUid, '1.2.840.10008.5.1.4.1.1.2');
    assert.deepEqual(volume.meta.dicom?.sopInstanceUids, series.sopInstanceUids);
    assert.equal(volume.meta.dicom?.patientId, 'SYNTHETIC-001');
    assert.equal(volume.meta.dicom?.patientName, 'Synthetic^Phantom');
    assert.equal(volume.meta.dicom?.studyDate, '20240102');
    assert.equal(volume.meta.dicom?.seriesDescription, 'Chest 1.25mm');
  });

  it('modalities other than CT/MR/PT are "unknown"', async () => {
    const series = await generate({ modality: 'OT' });
    assert.equal((await readDicomSeries(series.folder)).meta.modality, 'unknown');
  });

  it('reports progress once per slice, ending at 1', async () => {
    const series = await generate({ slices: 7 });
    const events: ProgressEvent[] = [];
    await readDicomSeries(series.folder, { onProgress: (event) => events.push(event) });
    const slices = events.filter((event) => event.stage === 'read DICOM');
    assert.equal(slices.length, 7);
    assert.equal(slices.at(-1)?.fraction, 1);
    assert.ok(events.some((event) => event.stage === 'scan DICOM'));
  });

  it('listDicomSeries describes each series for `medparse info`', async () => {
    const folder = join(root.path, `two-${++counter}`);
    await mkdir(folder);
    const ct = await writeSeries(folder, { subfolder: 'a', description: 'CT abdomen', slices: 3 });
    const mr = await writeSeries(folder, {
      subfolder: 'b',
      modality: 'MR',
      description: 'T1',
      slices: 5,
      columns: 4,
      rows: 3,
    });
    const list = await listDicomSeries(folder);
    const byUid = new Map(list.map((s) => [s.seriesInstanceUid, s]));
    assert.equal(list.length, 2);
    assert.deepEqual(
      {
        modality: byUid.get(ct.seriesUid)?.modality,
        description: byUid.get(ct.seriesUid)?.description,
        slices: byUid.get(ct.seriesUid)?.sliceCount,
        dims: byUid.get(ct.seriesUid)?.dims,
      },
      { modality: 'CT', description: 'CT abdomen', slices: 3, dims: [6, 5, 3] },
    );
    assert.deepEqual(byUid.get(mr.seriesUid)?.dims, [4, 3, 5]);
    assert.equal(byUid.get(mr.seriesUid)?.modality, 'MR');
  });
});

describe('DICOM time series (the same number of images at every slice position)', () => {
  it('reads one time point, chosen with volume, as a 4D NIfTI is read', async () => {
    // a cine MR of 2 time points: the same positions, the second numbered on from the first
    const folder = join(root.path, `series-${++counter}`);
    const common = { orientation: 'oblique', modality: 'MR', seriesUid: '1.2.3.4.5.6', studyUid: '1.2.3.4.5' } as const;
    const first = await writeSeries(folder, { ...common, subfolder: 't0', seed: 3 });
    const second = await writeSeries(folder, {
      ...common,
      subfolder: 't1',
      seed: 5,
      valueOffset: 100,
      instanceNumberOffset: first.dims[2],
    });
    await assert.rejects(readDicomSeries(folder), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'MULTIPLE_VOLUMES');
      assert.match(
        error.message,
        /holds 2 images at each of its 4 slice positions .* --volume N \(0 to 1, in InstanceNumber order\)/,
      );
      return true;
    });
    for (const [index, series] of [first, second].entries()) {
      const volume = await readDicomSeries(folder, { volume: index });
      assert.deepEqual(volume.dims, series.dims);
      assert.deepEqual(volume.meta.frame, { index, count: 2 });
      assert.ok(maxAbsDifference(volume.data, series.expectedValues) === 0, `time point ${index} values`);
      assert.ok(maxAbsDifference(volume.affine, series.expectedAffine) < 1e-6, `time point ${index} affine`);
    }
    await assert.rejects(readDicomSeries(folder, { volume: 2 }), /--volume 2 is out of range/);
  });
});

describe('a cine stored a series per slice position (as Siemens stores a short-axis cine)', () => {
  const common = { orientation: 'oblique', modality: 'MR', slices: 4, timePoints: 2 } as const;

  it('reads the series together as one stack, one time point at a time', async () => {
    const folder = join(root.path, `series-${++counter}`);
    const cine = await writeSeriesPerSlice(folder, common);
    await assert.rejects(readDicomSeries(folder), /holds 2 images at each of its 4 slice positions/);
    for (const t of [0, 1]) {
      const volume = await readDicomSeries(folder, { volume: t });
      assert.deepEqual(volume.dims, cine.dims);
      assert.ok(maxAbsDifference(volume.data, cine.expectedValues[t]) === 0, `time point ${t} values`);
      assert.ok(maxAbsDifference(volume.affine, cine.expectedAffine) < 1e-6, `time point ${t} affine`);
      assert.deepEqual(volume.meta.dicom?.sliceSeriesUids, cine.seriesUids);
      assert.deepEqual(volume.meta.dicom?.sopInstanceUids, cine.sopInstanceUids[t]);
    }
  });

  it('names the stack when other series share the folder, and reads it from the UIDs it names', async () => {
    const folder = join(root.path, `series-${++counter}`);
    const cine = await writeSeriesPerSlice(folder, common);
    await writeSeries(folder, {
      orientation: 'axial',
      modality: 'MR',
      subfolder: 'localizer',
      studyUid: cine.studyUid,
    });
    let hint = '';
    await assert.rejects(readDicomSeries(folder), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'MULTIPLE_SERIES');
      hint = /--series (\S+)$/.exec(error.message)?.[1] ?? '';
      assert.match(error.message, /4 of them lie at one slice position each of one stack/);
      return true;
    });
    assert.deepEqual(hint.split(','), cine.seriesUids);
    const volume = await readDicomSeries(folder, { series: hint, volume: 1 });
    assert.ok(maxAbsDifference(volume.data, cine.expectedValues[1]) === 0);
  });

  it('refuses series given together that are not one stack, saying what they must share', async () => {
    const folder = join(root.path, `series-${++counter}`);
    const cine = await writeSeriesPerSlice(folder, common);
    const axial = await writeSeries(folder, { orientation: 'axial', modality: 'MR', subfolder: 'axial' });
    await assert.rejects(
      readDicomSeries(folder, { series: `${cine.seriesUids[0]},${axial.seriesUid}` }),
      /the 2 series given to --series are not one stack \(series read together must share the study, image orientation and grid/,
    );
    await assert.rejects(
      readDicomSeries(folder, { series: `${cine.seriesUids[0]},1.2.3.999` }),
      /no series with SeriesInstanceUID 1\.2\.3\.999/,
    );
    await assert.rejects(readDicomSeries(folder, { series: ' , ' }), /--series names no SeriesInstanceUID/);
    // a trailing comma is not a series of its own
    const one = await readDicomSeries(folder, { series: `${axial.seriesUid},` });
    assert.deepEqual(one.dims, axial.dims);
  });
});
