/**
 * Browser mode on the real scans of awkward geometry that the output-geometry tests use (oblique, LPS,
 * PLI, LIA, anisotropic; test/helpers/geometry-cases.ts): the labels.nii.gz the page's engine worker
 * writes has the input's grid and affine (for a NIfTI input, its geometry header bytes), NiiVue draws it
 * on the scan, and its voxels equal the Node engine's labels.nii.gz. The closed-form test network keeps
 * each run to seconds. Needs chromium and ../shared; skipped with a message without either.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { fromNested } from '../../src/core/affine.js';
import { readVolume } from '../../src/io/read.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { writeResults } from '../../src/tasks/output-folder.js';
import { readReport } from '../../src/tasks/report.js';
import { GEOMETRY_CASES } from '../helpers/geometry-cases.js';
import { sharedDir, SHARED_MISSING } from '../helpers/shared.js';
import { writeTestModel } from '../helpers/test-model.js';
import { assertAffine, listedStatuses, openScan, runEnded, SKIP, startViewer, type ViewerSession } from './harness.js';

const shared = sharedDir();

/** What the page holds after a browser-mode run: its labels.nii.gz, and the overlay's and scan's geometry in NiiVue. */
interface PageRun {
  /** labels.nii.gz as the worker wrote it (offered for download), in base64. */
  labelsFile: string;
  overlay: { dims: number[]; affine: number[][] } | null;
  scan: { dims: number[]; affine: number[][] };
}

function pageRun(page: Page): Promise<PageRun> {
  return page.evaluate(async () => {
    interface Image {
      hdr: { dims: number[]; affine: number[][] } | null;
    }
    const viewer = (
      window as unknown as {
        medparseViewer: {
          nv: { volumes: Image[] };
          browserRun?: { files: Array<{ name: string; bytes: ArrayBuffer }> };
        };
      }
    ).medparseViewer;
    const geometry = (image: Image | undefined) =>
      image?.hdr ? { dims: image.hdr.dims.slice(1, 4), affine: image.hdr.affine } : null;
    const [scan, overlay] = viewer.nv.volumes;
    const file = viewer.browserRun?.files.find((f) => f.name === 'labels.nii.gz');
    const url = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsDataURL(new Blob([file?.bytes ?? new ArrayBuffer(0)]));
    });
    return {
      labelsFile: url.slice(url.indexOf(',') + 1),
      overlay: geometry(overlay),
      scan: geometry(scan) ?? { dims: [], affine: [] },
    };
  });
}

describe(
  'browser mode on real scans of every awkward geometry',
  { skip: SKIP || (shared ? false : SHARED_MISSING) },
  () => {
    let root = '';
    let model = '';
    let session: ViewerSession | undefined;
    let engine: ParseEngine | undefined;

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'medparse-browser-geometry-'));
      model = writeTestModel(join(root, 'model'));
      session = await startViewer(join(root, 'data'), model);
      engine = ParseEngine.load(model, { threads: 1 });
    });

    after(async () => {
      await session?.close();
      await engine?.dispose();
      rmSync(root, { recursive: true, force: true });
    });

    for (const { path, prompt, what } of GEOMETRY_CASES) {
      it(`${what} (${path}): the input's grid and affine, and the Node engine's mask`, async () => {
        assert.ok(session && engine);
        const input = join(shared ?? '', 'data', path);
        const volume = await readVolume(input);
        const { page, server } = session;
        await openScan(page, server.url, input);
        await page.locator('#prompts').fill(prompt);
        await page.locator('#in-browser').check();
        await page.locator('#run').click();
        await runEnded(page);
        assert.equal(await page.locator('#error').textContent(), '', 'no error');
        const run = await pageRun(page);
        const browserFile = join(root, 'browser-labels.nii.gz');
        writeFileSync(browserFile, Buffer.from(run.labelsFile, 'base64'));
        const labels = await readVolume(browserFile);

        // the browser's label map: the input's grid and affine, read by medparse's own reader
        assert.deepEqual(labels.dims, volume.dims);
        assertAffine(labels.affine, volume.affine, 'labels.nii.gz');
        if (/\.nii(\.gz)?$/.test(path)) {
          // from NIfTI to NIfTI the geometry fields are the input's own bytes (sform, qform, pixdim)
          const [a, b] = [gunzipSync(readFileSync(input)), gunzipSync(readFileSync(browserFile))];
          assert.deepEqual(b.subarray(252, 344), a.subarray(252, 344), 'qform/sform bytes');
          assert.deepEqual(b.subarray(80, 92), a.subarray(80, 92), 'pixdim');
        }
        // NiiVue draws it on the scan's grid, whose affine is the one medparse reads
        assert.ok(run.overlay, 'an overlay is drawn');
        assert.deepEqual(run.overlay.dims, volume.dims);
        assert.deepEqual(run.scan.dims, volume.dims);
        assertAffine(fromNested(run.overlay.affine), volume.affine, 'the overlay in NiiVue');
        assertAffine(fromNested(run.scan.affine), volume.affine, 'the scan in NiiVue');

        // the Node engine's results folder for the same request
        const result = await engine.segment(volume, prompt);
        const nodeDir = join(root, 'node');
        await writeResults(nodeDir, result, engine.vocabulary, {
          task: 'segment',
          medparseVersion: 'test',
          preview: false,
          force: true,
        });
        assert.deepEqual(
          await listedStatuses(page),
          result.prompts.map((p) => [p.text, p.status]),
        );
        const nodeLabels = await readVolume(join(nodeDir, 'labels.nii.gz'));
        const drawn = readReport(nodeDir).prompts.filter((p) => p.label_value !== null);
        assert.ok(drawn.length > 0, 'something to compare');
        for (const answer of drawn) {
          const { inBoth, inBrowser, onNode } = overlap(labels.data, nodeLabels.data, answer.label_value ?? 0);
          const dice = inBrowser + onNode ? (2 * inBoth) / (inBrowser + onNode) : 1;
          console.log(`${path} '${answer.text}': ${onNode} voxels on Node, ${inBrowser} in the browser, Dice ${dice}`);
        }
        // voxel for voxel, background and every label: the closed-form network's outputs are exact in
        // float32 on both runtimes, so no tolerance is needed
        let differing = 0;
        for (let i = 0; i < labels.data.length; i++) if (labels.data[i] !== nodeLabels.data[i]) differing++;
        assert.equal(differing, 0, 'voxels where the two label maps differ');
      });
    }
  },
);

/** Voxels of label `value` in the browser's label map, in Node's, and in both. */
function overlap(
  browser: ArrayLike<number>,
  node: ArrayLike<number>,
  value: number,
): { inBoth: number; inBrowser: number; onNode: number } {
  let [inBoth, inBrowser, onNode] = [0, 0, 0];
  for (let i = 0; i < browser.length; i++) {
    const [b, n] = [browser[i] === value, node[i] === value];
    if (b) inBrowser++;
    if (n) onNode++;
    if (b && n) inBoth++;
  }
  return { inBoth, inBrowser, onNode };
}
