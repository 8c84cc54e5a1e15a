/**
 * DICOM in browser mode (issue 21): a series chosen as a .zip or a folder is read in the page's worker by
 * medparse's own DICOM reader (src/io/dicom over the files' bytes), shown and parsed there, nothing
 * uploaded; the labels.nii.gz the page writes has the grid and affine Node's reader gives the series, and
 * the answers equal the Node engine's. Every compressed transfer syntax of the codec fixtures decodes in
 * chromium as on Node. The test network keeps each run to seconds. Needs chromium (and ../shared for the
 * real CT); skipped with a message without them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { fromNested } from '../../src/core/affine.js';
import { makePhantomCt } from '../../src/core/phantom.js';
import type { Volume } from '../../src/core/volume.js';
import { listDicomSeries, readDicomSeries } from '../../src/io/dicom/index.js';
import { readVolume } from '../../src/io/read.js';
import { readVolumeBytes } from '../../src/io/read-bytes.js';
import type { FixtureCase } from '../../scripts/make-dicom-codec-fixtures.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { writeResults } from '../../src/tasks/output-folder.js';
import { REPO_ROOT, sharedDir, SHARED_MISSING } from '../helpers/shared.js';
import { writeTestModel } from '../helpers/test-model.js';
import { writeSeries, writeVolumeAsDicom, zipFiles } from '../io/dicom/make-series.js';
import {
  assertAffine,
  browserAnswers,
  listedStatuses,
  nodeAnswers,
  runEnded,
  shotFolder,
  SKIP,
  startViewer,
  type ViewerSession,
} from './harness.js';

const shared = sharedDir();

/** The scan NiiVue shows and the labels.nii.gz the worker wrote (base64), after a browser-mode run. */
interface PageRun {
  scan: { dims: number[]; affine: number[][] };
  labelsFile: string;
  files: string[];
}

function pageRun(page: Page): Promise<PageRun> {
  return page.evaluate(async () => {
    const viewer = (
      window as unknown as {
        medparseViewer: {
          nv: { volumes: Array<{ hdr: { dims: number[]; affine: number[][] } }> };
          browserRun?: { files: Array<{ name: string; bytes: ArrayBuffer }> };
        };
      }
    ).medparseViewer;
    const files = viewer.browserRun?.files ?? [];
    const labels = files.find((f) => f.name === 'labels.nii.gz');
    const url = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsDataURL(new Blob([labels?.bytes ?? new ArrayBuffer(0)]));
    });
    const { hdr } = viewer.nv.volumes[0];
    return {
      scan: { dims: hdr.dims.slice(1, 4), affine: hdr.affine },
      labelsFile: url.slice(url.indexOf(',') + 1),
      files: files.map((f) => f.name),
    };
  });
}

describe('DICOM in browser mode: read, shown and parsed in the page, nothing uploaded', { skip: SKIP }, () => {
  let root = '';
  let session: ViewerSession | undefined;
  let engine: ParseEngine | undefined;
  /** Requests that send something (POST, PUT): none may carry the scan. */
  const sent: string[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-browser-dicom-'));
    const model = writeTestModel(join(root, 'model'));
    session = await startViewer(join(root, 'data'), model);
    session.page.on('request', (request) => {
      if (request.method() !== 'GET') sent.push(`${request.method()} ${new URL(request.url()).pathname}`);
    });
    engine = ParseEngine.load(model, { threads: 1 });
  });

  after(async () => {
    await session?.close();
    await engine?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  /**
   * Opens the series with "Run in this browser" checked first (so it is read in the page, not converted
   * by the server), runs `prompt`, and checks the page's answers and labels.nii.gz against Node's reading
   * of the same series and the Node engine's answers on it.
   */
  async function runAndCompare(input: string, choose: (page: Page) => Promise<void>, prompt: string, shot: string) {
    assert.ok(session && engine);
    const { page, server } = session;
    sent.length = 0;
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    await page.locator('#in-browser').check();
    const openStarted = performance.now();
    await choose(page);
    await page.waitForFunction(() => ['loaded', 'error'].includes(document.body.dataset.state ?? ''));
    assert.equal(await page.locator('#error').textContent(), '', 'the series opens without an error');
    const openMs = performance.now() - openStarted;
    await page.locator('#prompts').fill(prompt);
    const started = performance.now();
    await page.locator('#run').click();
    await runEnded(page);
    const runMs = performance.now() - started;
    assert.equal(await page.locator('#error').textContent(), '', 'no error');
    assert.match((await page.locator('#stage').textContent()) ?? '', /done in this browser/);
    assert.deepEqual(sent, [], 'nothing was sent to the server');

    const volume = await readDicomSeries(input);
    const run = await pageRun(page);
    // NiiVue shows the series on the grid and affine Node's reader gives it
    assert.deepEqual(run.scan.dims, volume.dims);
    assertAffine(fromNested(run.scan.affine), volume.affine, 'the scan in NiiVue');
    // the page's labels.nii.gz: the series' grid and affine
    const labels = await readVolumeBytes(new Uint8Array(Buffer.from(run.labelsFile, 'base64')), 'labels.nii.gz');
    assert.deepEqual(labels.dims, volume.dims);
    assertAffine(labels.affine, volume.affine, 'labels.nii.gz');
    assert.ok(run.files.includes('segmentation.dcm'), 'a DICOM input gets its DICOM SEG');

    // the Node engine on Node's reading of the same series: the same answers, the same label map
    const nodeStarted = performance.now();
    const result = await engine.segment(volume, prompt);
    const nodeMs = performance.now() - nodeStarted;
    assert.deepEqual(await browserAnswers(page), nodeAnswers(result.prompts));
    const nodeDir = join(root, 'node');
    await writeResults(nodeDir, result, engine.vocabulary, { task: 'segment', medparseVersion: 't', force: true });
    const nodeLabels = await readVolume(join(nodeDir, 'labels.nii.gz'));
    let differing = 0;
    for (let i = 0; i < labels.data.length; i++) if (labels.data[i] !== nodeLabels.data[i]) differing++;
    assert.equal(differing, 0, 'voxels where the two label maps differ');
    await page.locator('#gl').screenshot({ path: join(shotFolder(), shot) });
    const answers = (await browserAnswers(page)).map(([text, status, voxels]) => `${text} ${status} ${voxels}`);
    console.log(
      `${input}: ${volume.dims.join('x')} opened in ${Math.round(openMs)} ms, run in ${Math.round(runMs)} ms ` +
        `(Node ${Math.round(nodeMs)} ms): ${answers.join(', ')}`,
    );
  }

  it('a generated CT as a .zip of DICOM files', async () => {
    const phantom = makePhantomCt({ dims: [96, 96, 48] });
    const folder = join(root, 'phantom-dicom');
    const files = await writeVolumeAsDicom(phantom, folder);
    const zip = join(root, 'phantom.zip');
    await zipFiles(
      Object.fromEntries(files.map((path) => [`study/${relative(folder, path)}`, readFileSync(path)])),
      zip,
    );
    await runAndCompare(
      zip,
      (page) => page.locator('#file').setInputFiles(zip),
      'kidneys, brain, banana',
      'dicom-zip.png',
    );
  });

  it(
    'a real CT from ../shared (OpenKBP, PLI) as a folder of DICOM files',
    { skip: shared ? false : SHARED_MISSING },
    async () => {
      const ct: Volume = await readVolume(join(shared ?? '', 'data', 'openkbp', 'pt_10_ct.nii.gz'));
      const folder = join(root, 'pt_10_ct');
      await writeVolumeAsDicom(ct, folder, 'OpenKBP pt_10 CT');
      await runAndCompare(
        folder,
        (page) => page.locator('#folder').setInputFiles(folder),
        'vertebral column',
        'dicom-folder.png',
      );
    },
  );

  it('files holding several series: the page lists them, reads the one chosen and runs on it (browser and server)', async () => {
    assert.ok(session && engine);
    const { page, server } = session;
    const phantomFolder = join(root, 'two', 'phantom');
    const phantomFiles = await writeVolumeAsDicom(makePhantomCt({ dims: [64, 64, 32] }), phantomFolder, 'phantom CT');
    const other = await writeSeries(join(root, 'two', 'other'), { columns: 40, rows: 32, slices: 10 });
    const zip = join(root, 'two.zip');
    const entries = [
      ...phantomFiles.map((path) => [`a/${relative(phantomFolder, path)}`, path]),
      ...other.files.map((path, n) => [`b/IM${n}.dcm`, path]),
    ];
    await zipFiles(Object.fromEntries(entries.map(([name, path]) => [name, readFileSync(path)])), zip);
    const series = await listDicomSeries(zip);
    const phantomUid = series.find((s) => s.description === 'phantom CT')?.seriesInstanceUid ?? '';
    sent.length = 0;
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    await page.locator('#in-browser').check();
    await page.locator('#file').setInputFiles(zip);
    await page.locator('#series').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#error').textContent(), 'two.zip holds 2 DICOM series: choose one under "Series"');
    const options = await page
      .locator('#series option')
      .evaluateAll((all) => all.map((o) => [(o as HTMLOptionElement).value, o.textContent ?? '']));
    console.log(`series offered: ${JSON.stringify(options)}`);
    assert.deepEqual(
      options
        .map(([value]) => value)
        .slice(1)
        .sort(),
      series.map((s) => s.seriesInstanceUid).sort(),
    );
    assert.ok(
      options.some(([value, text]) => value === phantomUid && /"phantom CT", 32 image\(s\), 64 x 64 x 32/.test(text)),
    );
    await page.locator('#series').selectOption(phantomUid);
    await page.waitForFunction(() => /: 64 x 64 x 32 voxels/.test(document.getElementById('scan')?.textContent ?? ''));
    assert.equal(await page.locator('#error').textContent(), '');
    await page.locator('#prompts').fill('kidneys');
    await page.locator('#run').click();
    await runEnded(page);
    assert.equal(await page.locator('#error').textContent(), '', 'no error');
    const volume = await readDicomSeries(zip, { series: phantomUid });
    const result = await engine.segment(volume, 'kidneys');
    assert.deepEqual(await browserAnswers(page), nodeAnswers(result.prompts));
    const run = await pageRun(page);
    assert.deepEqual(run.scan.dims, volume.dims);
    assertAffine(fromNested(run.scan.affine), volume.affine, 'the chosen series in NiiVue');
    assert.deepEqual(sent, [], 'nothing was sent to the server');

    // on the server (box unchecked) the page lists them too; the choice goes with the conversion and the job
    sent.length = 0;
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    await page.locator('#file').setInputFiles(zip);
    await page.locator('#series').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#error').textContent(), 'two.zip holds 2 DICOM series: choose one under "Series"');
    await page.locator('#series').selectOption(phantomUid);
    await page.waitForFunction(() => /: 64 x 64 x 32 voxels/.test(document.getElementById('scan')?.textContent ?? ''));
    await page.locator('#prompts').fill('kidneys');
    await page.locator('#run').click();
    await runEnded(page);
    assert.equal(await page.locator('#error').textContent(), '', 'no error');
    assert.deepEqual(
      await listedStatuses(page),
      result.prompts.map((p) => [p.text, p.status]),
    );
    assert.deepEqual(sent, ['POST /v1/convert', 'POST /v1/convert', 'POST /v1/jobs'], 'refused, converted, run');
  });

  it('a file that is not DICOM gives a one-line error naming it, and the page keeps working', async () => {
    assert.ok(session);
    const { page, server } = session;
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    await page.locator('#in-browser').check();
    const stray = join(root, 'notes.dcm');
    writeFileSync(stray, 'not an image');
    await page.locator('#file').setInputFiles(stray);
    await page.waitForFunction(() => document.body.dataset.state === 'error');
    const message = (await page.locator('#error').textContent()) ?? '';
    assert.match(message, /^notes\.dcm could not be read as an image \(notes\.dcm: no DICOM images found .*\)/);
    assert.ok(!message.includes('\n'), 'one line');
  });
});

describe('compressed DICOM decodes in chromium as on Node', { skip: SKIP }, () => {
  const fixtures = join(REPO_ROOT, 'test/fixtures/dicom-codecs');
  const manifest = JSON.parse(readFileSync(join(fixtures, 'manifest.json'), 'utf8')) as FixtureCase[];
  let session: ViewerSession | undefined;
  let root = '';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-browser-codecs-'));
    session = await startViewer(join(root, 'data'), writeTestModel(join(root, 'model')));
    await session.page.goto(session.server.url);
  });

  after(async () => {
    await session?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The engine worker's reading of a folder's files (its 'open' request): NIfTI bytes, or the error. */
  function readInWorker(page: Page, folder: string): Promise<{ nifti?: string; error?: string }> {
    const files = readdirSync(folder).map((name) => ({
      name: `series/${name}`,
      bytes: [...readFileSync(join(folder, name))],
    }));
    return page.evaluate(
      (files) =>
        new Promise<{ nifti?: string; error?: string }>((resolve) => {
          const worker = new Worker('engine-worker.js', { type: 'module' });
          worker.onmessage = (event: MessageEvent<{ type: string; nifti?: ArrayBuffer; message?: string }>) => {
            worker.terminate();
            if (event.data.type === 'error') return resolve({ error: event.data.message });
            const bytes = new Uint8Array(event.data.nifti ?? new ArrayBuffer(0));
            let text = '';
            for (let i = 0; i < bytes.length; i += 0x8000)
              text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            resolve({ nifti: btoa(text) });
          };
          const named = files.map((file) => ({ name: file.name, bytes: new Uint8Array(file.bytes).buffer }));
          worker.postMessage(
            { type: 'open', files: named, scanName: 'series' },
            named.map((file) => file.bytes),
          );
        }),
      files,
    );
  }

  it('refuses a series whose codec cannot be loaded in the page with one line, naming the file and what to do', async () => {
    assert.ok(session);
    const { page } = session;
    // as a page that cannot fetch the codec's .wasm (opened from a file, a host that does not serve it)
    await page.context().route('**/charlswasm_decode.wasm', (route) => route.abort());
    try {
      const read = await readInWorker(page, join(fixtures, 'ct-int16', 'jpeg-ls'));
      console.log(`JPEG-LS without its WebAssembly: ${read.error}`);
      assert.match(
        read.error ?? '',
        /^series\/IM\d+\.dcm: cannot decode the JPEG-LS[ a-zA-Z]* pixel data: the JPEG-LS decoder \(WebAssembly\) cannot be loaded here \(.*\); in the viewer, uncheck "Run in this browser" to read the series on the server/,
      );
      assert.ok(!(read.error ?? '').includes('\n'), 'one line');
    } finally {
      await page.context().unroute('**/charlswasm_decode.wasm');
    }
  });

  for (const fixture of manifest) {
    for (const encoding of fixture.encodings) {
      it(`${fixture.name}/${encoding.folder} (${encoding.transferSyntaxUid})`, async () => {
        assert.ok(session);
        const folder = join(fixtures, fixture.name, encoding.folder);
        const read = await readInWorker(session.page, folder);
        if (encoding.refused !== undefined) {
          // refused as on Node: one line naming the file and what to do
          assert.match(read.error ?? '', new RegExp(encoding.refused));
          assert.match(read.error ?? '', /^series\/IM\d+\.dcm: .*gdcmconv --raw|dcmdjpeg/);
          return;
        }
        assert.equal(read.error, undefined, read.error);
        const inBrowser = await readVolumeBytes(new Uint8Array(Buffer.from(read.nifti ?? '', 'base64')), 'series.nii');
        const onNode = await readDicomSeries(folder);
        assert.deepEqual(inBrowser.dims, onNode.dims);
        assertAffine(inBrowser.affine, onNode.affine, 'the series');
        assert.deepEqual([...inBrowser.data], [...onNode.data], 'voxels');
      });
    }
  }
});
