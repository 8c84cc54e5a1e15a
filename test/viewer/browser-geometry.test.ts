/**
 * Browser mode on the real scans of awkward geometry that the output-geometry tests use (oblique, LPS,
 * PLI, LIA, anisotropic; test/helpers/geometry-cases.ts): the label map the page's engine worker answers
 * is on the input's own voxel grid, NiiVue draws it with the scan's affine, and it equals the Node
 * engine's mask voxel for voxel. The closed-form test network keeps each run to seconds. Needs chromium
 * and ../shared; skipped with a message without either.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { fromNested } from '../../src/core/affine.js';
import { readVolume } from '../../src/io/read.js';
import { writeNifti } from '../../src/io/write-nifti.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { GEOMETRY_CASES } from '../helpers/geometry-cases.js';
import { sharedDir, SHARED_MISSING } from '../helpers/shared.js';
import { writeTestModel } from '../helpers/test-model.js';
import { openScan, runEnded, SKIP, startViewer, type ViewerSession } from './harness.js';

const shared = sharedDir();

/** What the page holds after a browser-mode run: its label map, and the overlay's and scan's geometry in NiiVue. */
interface PageRun {
  dims: number[];
  /** The worker's label map's bytes (uint16, little-endian) in base64: a 256^3 map as one string. */
  labels: string;
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
        medparseViewer: { nv: { volumes: Image[] }; browserRun?: { labels: Uint16Array<ArrayBuffer>; dims: number[] } };
      }
    ).medparseViewer;
    const geometry = (image: Image | undefined) =>
      image?.hdr ? { dims: image.hdr.dims.slice(1, 4), affine: image.hdr.affine } : null;
    const [scan, overlay] = viewer.nv.volumes;
    const url = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsDataURL(new Blob([viewer.browserRun?.labels ?? new Uint16Array()]));
    });
    return {
      dims: viewer.browserRun?.dims ?? [],
      labels: url.slice(url.indexOf(',') + 1),
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
        const volume = await readVolume(join(shared ?? '', 'data', path));
        let scan = join(shared ?? '', 'data', path);
        // browser mode reads NIfTI only for now: the MGZ is written as NIfTI by medparse's writer, its LIA affine kept
        if (!/\.nii(\.gz)?$/.test(path)) {
          scan = join(root, `${path.replace(/\W/g, '_')}.nii.gz`);
          await writeNifti(scan, volume);
        }
        const { page, server } = session;
        await openScan(page, server.url, scan);
        await page.locator('#prompts').fill(prompt);
        await page.locator('#in-browser').check();
        await page.locator('#run').click();
        await runEnded(page);
        assert.equal(await page.locator('#error').textContent(), '', 'no error');
        const run = await pageRun(page);
        const bytes = Buffer.from(run.labels, 'base64');
        const labels = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);

        // the grid: the worker answers on the input's dims, in its file order (checked by the masks below)
        assert.deepEqual(run.dims, volume.dims);
        assert.equal(labels.length, volume.data.length);
        // the affine: the overlay is drawn on the scan's own grid and affine as NiiVue reads the file
        assert.ok(run.overlay, 'an overlay is drawn');
        assert.deepEqual(run.overlay.dims, run.scan.dims);
        assert.deepEqual(run.overlay.affine, run.scan.affine);
        assert.deepEqual(run.scan.dims, volume.dims);
        // and that affine is the one medparse reads (RAS mm, row-major; float32 in the header)
        fromNested(run.scan.affine).forEach((v, i) =>
          assert.ok(Math.abs(v - volume.affine[i]) < 1e-4, `affine[${i}]: NiiVue ${v}, medparse ${volume.affine[i]}`),
        );

        const result = await engine.segment(volume, prompt);
        const statuses = await page
          .locator('#answers > li')
          .evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.status));
        assert.deepEqual(
          statuses,
          result.prompts.map((p) => p.status),
        );
        assert.ok(
          result.prompts.some((p) => p.status === 'present'),
          'something to compare',
        );
        for (const [i, answer] of result.prompts.entries()) {
          const { inBoth, inBrowser, onNode } = overlap(labels, i + 1, answer.probability);
          const dice = inBrowser + onNode ? (2 * inBoth) / (inBrowser + onNode) : 1;
          console.log(`${path} '${answer.text}': ${onNode} voxels on Node, ${inBrowser} in the browser, Dice ${dice}`);
          // the closed-form network's outputs are exact in float32 on both runtimes: no tolerance needed
          assert.equal(inBrowser, onNode, `${answer.text}: voxel count`);
          assert.equal(inBoth, onNode, `${answer.text}: the same voxels`);
        }
      });
    }
  },
);

/** Voxels of label `value` in the browser's map, of Node's mask (probability > 0), and in both. */
function overlap(
  labels: Uint16Array,
  value: number,
  probability: Uint8Array | undefined,
): { inBoth: number; inBrowser: number; onNode: number } {
  let [inBoth, inBrowser, onNode] = [0, 0, 0];
  for (let i = 0; i < labels.length; i++) {
    const [b, n] = [labels[i] === value, (probability?.[i] ?? 0) > 0];
    if (b) inBrowser++;
    if (n) onNode++;
    if (b && n) inBoth++;
  }
  return { inBoth, inBrowser, onNode };
}
