import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { affinesClose } from '../../src/core/affine.js';
import { readVolume } from '../../src/io/read.js';
import { writeSeries, zipFiles } from '../io/dicom/make-series.js';
import { writeTestModel } from '../helpers/test-model.js';
import { fileUpload, niftiVoxels, startService, submit, type RunningService } from './helpers.js';

describe('POST /v1/convert: any readable upload back as NIfTI (the viewer shows DICOM with it)', () => {
  let root = '';
  let running: RunningService;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-convert-'));
    running = await startService({ dataDir: join(root, 'data'), modelDir: writeTestModel(join(root, 'model')) });
  });

  after(async () => {
    await running.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers a DICOM series (as a .zip, or as its files) with the voxels and geometry medparse reads', async () => {
    const series = await writeSeries(join(root, 'series'), {
      columns: 24,
      rows: 20,
      slices: 6,
      orientation: 'oblique',
    });
    const expected = await readVolume(series.folder);
    const zipPath = join(root, 'series.zip');
    await zipFiles(Object.fromEntries(series.files.map((path, n) => [`study/IM${n}`, readFileSync(path)])), zipPath);
    for (const files of [[fileUpload(zipPath, 'export.zip')], series.files.map((path) => fileUpload(path))]) {
      const response = await submit(running.url, {}, files, {}, '/v1/convert');
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(response.headers.get('content-type'), 'application/gzip');
      const image = niftiVoxels(new Uint8Array(await response.arrayBuffer()));
      assert.deepEqual(image.dims, expected.dims);
      assert.ok(affinesClose(image.affine, expected.affine, 1e-4), 'the series geometry');
      assert.deepEqual(Array.from(image.data), Array.from(expected.data));
    }
    assert.deepEqual(readdirSync(join(root, 'data', 'convert')), [], 'nothing of the uploads is kept');
  });

  it("refuses a file that is not an image with the reader's message, keeping nothing", async () => {
    const response = await submit(
      running.url,
      {},
      [{ name: 'notes.nii', bytes: new TextEncoder().encode('not an image') }],
      {},
      '/v1/convert',
    );
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.match(body.error.message, /notes|image|NIfTI|header/i);
    assert.ok(!existsSync(join(root, 'data', 'convert')) || readdirSync(join(root, 'data', 'convert')).length === 0);
  });
});
