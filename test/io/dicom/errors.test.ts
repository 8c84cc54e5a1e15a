import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MedparseError } from '../../../src/core/errors.js';
import type { MedparseErrorCode } from '../../../src/core/errors.js';
import { readFileMetaInformation } from '../../../src/io/dicom/element-walker.js';
import { readDicomSeries } from '../../../src/io/dicom/index.js';
import { writeSeries, zipFiles } from './make-series.js';
import { makeTempDir, maxAbsDifference } from '../../helpers/volumes.js';

let root: { path: string; cleanup: () => void };
let counter = 0;
before(() => {
  root = makeTempDir();
});
after(() => root.cleanup());

async function freshFolder(): Promise<string> {
  const folder = join(root.path, `case-${++counter}`);
  await mkdir(folder, { recursive: true });
  return folder;
}

/** Asserts that reading rejects with `code` and a message that names `path` and matches `patterns`. */
async function rejectsWith(
  promise: Promise<unknown>,
  code: MedparseErrorCode,
  path: string,
  ...patterns: RegExp[]
): Promise<MedparseError> {
  const error = await promise.then(
    () => assert.fail(`expected a ${code} error`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof MedparseError, `not a MedparseError: ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.ok(error.message.includes(path), `message does not name ${path}: ${error.message}`);
  for (const pattern of patterns) assert.match(error.message, pattern);
  return error;
}

describe('DICOM errors', () => {
  it('several series: MULTIPLE_SERIES lists both UIDs with modality, description, slice count and says --series', async () => {
    const folder = await freshFolder();
    const ct = await writeSeries(folder, { subfolder: 'ct', description: 'Abdomen', slices: 4 });
    const mr = await writeSeries(folder, { subfolder: 'mr', modality: 'MR', description: 'T2 axial', slices: 3 });
    const error = await rejectsWith(
      readDicomSeries(folder),
      'MULTIPLE_SERIES',
      folder,
      /--series UID/,
      /Abdomen/,
      /T2 axial/,
      /4 slice/,
      /3 slice/,
      /\bMR\b/,
    );
    assert.ok(error.message.includes(ct.seriesUid) && error.message.includes(mr.seriesUid));
  });

  it('the series option selects one of several, in a folder and in a zip', async () => {
    const folder = await freshFolder();
    await writeSeries(folder, { subfolder: 'ct', slices: 4 });
    const mr = await writeSeries(folder, { subfolder: 'mr', modality: 'MR', slices: 3, orientation: 'sagittal' });
    const volume = await readDicomSeries(folder, { series: mr.seriesUid });
    assert.equal(volume.meta.dicom?.seriesInstanceUid, mr.seriesUid);
    assert.equal(maxAbsDifference(volume.data, mr.expectedValues), 0);
    const zipPath = join(root.path, `two-${counter}.zip`);
    const files: Record<string, Uint8Array> = {};
    for (const file of mr.files) files[`mr/${file.split('/').at(-1)}`] = new Uint8Array(await readFile(file));
    files['other/readme.txt'] = new TextEncoder().encode('hello');
    await zipFiles(files, zipPath);
    assert.equal((await readDicomSeries(zipPath)).meta.dicom?.seriesInstanceUid, mr.seriesUid);
  });

  it('an unknown series UID is INVALID_ARGUMENT listing the valid ones', async () => {
    const folder = await freshFolder();
    const ct = await writeSeries(folder, { slices: 2 });
    await rejectsWith(
      readDicomSeries(folder, { series: '1.2.3.999' }),
      'INVALID_ARGUMENT',
      folder,
      /1\.2\.3\.999/,
      new RegExp(ct.seriesUid.replace(/\./g, '\\.')),
    );
  });

  it('an empty folder is EMPTY_INPUT naming the folder', async () => {
    const folder = await freshFolder();
    await rejectsWith(readDicomSeries(folder), 'EMPTY_INPUT', folder, /empty/);
  });

  it('a folder of non-DICOM files is EMPTY_INPUT saying how many files were not DICOM', async () => {
    const folder = await freshFolder();
    await writeFile(join(folder, 'notes.txt'), 'hello\n');
    await writeFile(join(folder, 'image.dcm'), new Uint8Array(300).fill(7));
    await writeFile(join(folder, 'tiny'), new Uint8Array([8, 0]));
    await rejectsWith(readDicomSeries(folder), 'EMPTY_INPUT', folder, /3 file\(s\): 3 not DICOM/);
  });

  it('a missing path is FILE_NOT_FOUND', async () => {
    const missing = join(root.path, 'does-not-exist');
    await rejectsWith(readDicomSeries(missing), 'FILE_NOT_FOUND', missing);
  });

  it('a DICOM file truncated inside its pixel data is TRUNCATED_FILE naming that file', async () => {
    const series = await writeSeries(await freshFolder(), { slices: 3, columns: 32, rows: 32 });
    const victim = series.files[1];
    const bytes = await readFile(victim);
    await writeFile(victim, bytes.subarray(0, bytes.length - 100));
    await rejectsWith(readDicomSeries(series.folder), 'TRUNCATED_FILE', victim, /truncated/, /copy or export/);
  });

  it('a DICOM file truncated inside its header is TRUNCATED_FILE naming that file', async () => {
    const series = await writeSeries(await freshFolder(), { slices: 3 });
    const victim = series.files[2];
    const bytes = await readFile(victim);
    await writeFile(victim, bytes.subarray(0, 400));
    await rejectsWith(readDicomSeries(series.folder), 'TRUNCATED_FILE', victim);
  });

  it('a missing slice (uneven gap) is INVALID_DIMENSIONS naming the series and the files around the gap', async () => {
    const series = await writeSeries(await freshFolder(), { slices: 6, omit: [3] });
    // files are in k order without slice 3: the gap is between files[2] (k=2) and files[3] (k=4).
    await rejectsWith(
      readDicomSeries(series.folder),
      'INVALID_DIMENSIONS',
      series.folder,
      /1 slice\(s\) seem to be missing/,
      new RegExp(series.files[2]),
      new RegExp(series.files[3]),
    );
  });

  it('compressed pixel data medparse cannot decode is UNSUPPORTED_FORMAT naming the syntax and a conversion', async () => {
    const series = await writeSeries(await freshFolder(), { syntax: 'mpeg2' });
    await rejectsWith(
      readDicomSeries(series.folder),
      'UNSUPPORTED_FORMAT',
      series.files[0].replace(/IM\d+\.dcm$/, ''),
      /MPEG2/,
      /1\.2\.840\.10008\.1\.2\.4\.100/,
      /gdcmconv --raw/,
      /dcm2niix/,
    );
  });

  it('a damaged DICOM header (bad VR) is CORRUPT_FILE naming the file', async () => {
    const series = await writeSeries(await freshFolder(), { slices: 2 });
    const victim = series.files[0];
    const bytes = new Uint8Array(await readFile(victim));
    // Overwrite the VR of the first dataset element after the meta group with junk.
    const datasetStart = readFileMetaInformation(bytes, 132)?.datasetStart ?? assert.fail('no meta group');
    bytes[datasetStart + 4] = 0x3f;
    bytes[datasetStart + 5] = 0x3f;
    await writeFile(victim, bytes);
    await rejectsWith(readDicomSeries(series.folder), 'CORRUPT_FILE', victim, /damaged/);
  });
});
