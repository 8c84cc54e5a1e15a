/**
 * Per-structure opacity in the viewer, in chromium: each answer is its own NiiVue layer (a label
 * colormap's alpha is all or nothing in NiiVue), so one structure's slider changes its pixels and no
 * other structure's. Skipped with a message without chromium.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { makePhantomCt } from '../../src/core/phantom.js';
import { writeNifti } from '../../src/io/write-nifti.js';
import { loadVocabulary } from '../../src/vocab/vocabulary-file.js';
import { writeTestModel } from '../helpers/test-model.js';
import { hideCrosshair, openScan, runEnded, shotFolder, SKIP, startViewer, type ViewerSession } from './harness.js';

/**
 * Pixels of screenshot `a` in the hue of `rgb` (as countColour judges hue), and how many of them
 * differ in screenshot `b`.
 */
function hueChanges(
  page: Page,
  a: Buffer,
  b: Buffer,
  rgb: readonly number[],
): Promise<{ pixels: number; changed: number }> {
  return page.evaluate(
    async ({ a, b, rgb }) => {
      const pixelsOf = async (base64: string) => {
        const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob());
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const context = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
        context.drawImage(bitmap, 0, 0);
        return context.getImageData(0, 0, bitmap.width, bitmap.height).data;
      };
      const [before, after] = [await pixelsOf(a), await pixelsOf(b)];
      const chroma = (r: number, g: number, b: number) => {
        const grey = (r + g + b) / 3;
        return [r - grey, g - grey, b - grey];
      };
      const want = chroma(rgb[0], rgb[1], rgb[2]);
      const norm = Math.hypot(...want);
      let [pixels, changed] = [0, 0];
      for (let i = 0; i < before.length; i += 4) {
        const got = chroma(before[i], before[i + 1], before[i + 2]);
        const length = Math.hypot(...got);
        if (length < 8) continue;
        if ((got[0] * want[0] + got[1] * want[1] + got[2] * want[2]) / (length * norm) <= 0.95) continue;
        pixels++;
        if (before[i] !== after[i] || before[i + 1] !== after[i + 1] || before[i + 2] !== after[i + 2]) changed++;
      }
      return { pixels, changed };
    },
    { a: a.toString('base64'), b: b.toString('base64'), rgb: [...rgb] },
  );
}

describe('per-structure opacity in the viewer', { skip: SKIP }, () => {
  let root = '';
  let session: ViewerSession | undefined;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-structure-opacity-'));
    await writeNifti(join(root, 'phantom.nii.gz'), makePhantomCt({ dims: [96, 96, 48] }));
    session = await startViewer(join(root, 'data'), writeTestModel(join(root, 'model')));
  });

  after(async () => {
    await session?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("one structure's slider changes that structure's pixels and not another's", async () => {
    assert.ok(session);
    const { page, server } = session;
    await openScan(page, server.url, join(root, 'phantom.nii.gz'));
    await page.locator('#prompts').fill('kidneys, vertebral column');
    await page.locator('#run').click();
    await runEnded(page);
    assert.equal(await page.locator('#error').textContent(), '', 'no error');
    const sliders = page.locator('#answers > li .structure-opacity');
    assert.equal(await sliders.count(), 2, 'a slider per drawn structure');
    await hideCrosshair(page);
    // one axial slice: the 3D render blends along each ray, so where a kidney lies behind the spine a
    // fainter kidney rightly changes a spine-coloured pixel there
    await page.evaluate(() => {
      const { nv } = (
        window as unknown as { medparseViewer: { nv: { setSliceType(type: number): void; sliceTypeAxial: number } } }
      ).medparseViewer;
      nv.setSliceType(nv.sliceTypeAxial);
    });
    await page.locator('#opacity').fill('1');
    await page.waitForTimeout(300);
    const shot = async (name: string) => page.locator('#gl').screenshot({ path: join(shotFolder(), `${name}.png`) });
    const full = await shot('opacity-1-both-full');

    await page.locator('#answers > li[data-text="kidneys"] .structure-opacity').fill('0.3');
    await page.waitForTimeout(300);
    const kidneyFaint = await shot('opacity-2-kidneys-0.3');
    const vocabulary = loadVocabulary();
    const [kidney, spine] = [vocabulary.get('kidney')?.color, vocabulary.get('vertebral_column')?.color];
    assert.ok(kidney && spine);
    const kidneys = await hueChanges(page, full, kidneyFaint, kidney);
    const spines = await hueChanges(page, full, kidneyFaint, spine);
    console.log(
      `kidneys at 0.3: ${kidneys.changed} of ${kidneys.pixels} kidney pixels changed, ${spines.changed} of ${spines.pixels} spine pixels`,
    );
    assert.ok(kidneys.pixels > 500 && spines.pixels > 500, 'both drawn');
    assert.ok(kidneys.changed > 0.9 * kidneys.pixels, 'the kidneys fade');
    assert.equal(spines.changed, 0, 'the spine stays as it was');

    // and the other way round; the slider above the list sets both again
    await page.locator('#answers > li[data-text="vertebral column"] .structure-opacity').fill('0.3');
    await page.waitForTimeout(300);
    const bothFaint = await shot('opacity-3-both-0.3');
    assert.ok((await hueChanges(page, kidneyFaint, bothFaint, spine)).changed > 0.9 * spines.pixels, 'the spine fades');
    assert.equal(
      (await hueChanges(page, full, bothFaint, kidney)).changed,
      kidneys.changed,
      'the kidneys as they were',
    );
    await page.locator('#opacity').fill('1');
    await page.waitForTimeout(300);
    const again = await shot('opacity-4-all-1');
    assert.equal((await hueChanges(page, full, again, kidney)).changed, 0);
    assert.equal((await hueChanges(page, full, again, spine)).changed, 0);
  });
});
