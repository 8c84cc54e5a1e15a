import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { affinesClose } from '../../src/core/affine.js';
import { readVolume } from '../../src/io/read.js';
import { writeSeries, zipFiles } from '../io/dicom/make-series.js';
import { writeTestModel } from '../helpers/test-model.js';
import {
  fileUpload,
  isAlive,
  niftiVoxels,
  startService,
  submit,
  waitUntil,
  writePhantom,
  type RunningService,
} from './helpers.js';

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

  it('decodes in a worker process, not the server: the server answers while it is stopped; one that dies is a 500 and is replaced', async () => {
    const scan = await writePhantom(join(root, 'phantom.nii.gz'), [48, 40, 24]);
    const expected = await readVolume(scan);
    const convert = () => submit(running.url, {}, [fileUpload(scan)], {}, '/v1/convert');
    assert.equal((await convert()).status, 200);
    const { converter } = running.service.context;
    const pid = converter.pid;
    assert.ok(pid !== undefined && pid !== process.pid && isAlive(pid), 'a conversion worker process of its own');
    // stopped, the worker cannot read anything: the conversion waits, the server keeps answering
    process.kill(pid, 'SIGSTOP');
    let answered = false;
    const pending = convert().then((response) => ((answered = true), response));
    await waitUntil(() => converter.busy, 'the conversion is with the worker');
    assert.equal((await fetch(`${running.url}/healthz`)).status, 200);
    assert.equal(answered, false, 'no answer before the worker has read the upload');
    process.kill(pid, 'SIGKILL');
    const crashed = await pending;
    assert.equal(crashed.status, 500);
    const { error } = (await crashed.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'CONVERSION_CRASHED');
    assert.match(error.message, /the conversion's worker process ended \(killed by SIGKILL\)/);
    // a fresh worker takes the next one
    const again = await convert();
    assert.equal(again.status, 200);
    assert.notEqual(converter.pid, pid);
    const image = niftiVoxels(new Uint8Array(await again.arrayBuffer()));
    assert.deepEqual(image.dims, expected.dims);
    assert.ok(affinesClose(image.affine, expected.affine, 1e-4));
    assert.deepEqual(Array.from(image.data), Array.from(expected.data));
  });
});
