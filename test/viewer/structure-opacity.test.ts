/**
 * Per-structure opacity in the viewer, in chromium: each answer is its own NiiVue layer (a label
 * colormap's alpha is all or nothing in NiiVue), so one structure's slider changes its pixels and no
 * other structure's. Skipped with a message without chromium.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadVocabulary } from '../../src/vocab/vocabulary-file.js';
import { decodePng } from '../outputs/png-decode.js';
import {
  hideCrosshair,
  inHue,
  openScan,
  runPrompts,
  shotFolder,
  SKIP,
  startPhantomViewer,
  type PhantomViewer,
} from './harness.js';

/** Pixels of screenshot `a` in the hue of `rgb` (harness.ts's inHue), and how many of them differ in screenshot `b`. */
function hueChanges(a: Buffer, b: Buffer, rgb: readonly number[]): { pixels: number; changed: number } {
  const [before, after] = [decodePng(new Uint8Array(a)), decodePng(new Uint8Array(b))];
  const [x, y] = [before.pixels, after.pixels];
  let [pixels, changed] = [0, 0];
  for (let i = 0; i < x.length; i += before.channels) {
    if (!inHue(x, i, rgb)) continue;
    pixels++;
    if (x[i] !== y[i] || x[i + 1] !== y[i + 1] || x[i + 2] !== y[i + 2]) changed++;
  }
  return { pixels, changed };
}

describe('per-structure opacity in the viewer', { skip: SKIP }, () => {
  let session: PhantomViewer | undefined;

  before(async () => {
    session = await startPhantomViewer('medparse-structure-opacity-');
  });

  after(async () => {
    await session?.close();
  });

  it("one structure's slider changes that structure's pixels and not another's", async () => {
    assert.ok(session);
    const { page, server } = session;
    await openScan(page, server.url, session.scan);
    await runPrompts(page, 'kidneys, vertebral column');
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
    const kidneys = hueChanges(full, kidneyFaint, kidney);
    const spines = hueChanges(full, kidneyFaint, spine);
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
    assert.ok(hueChanges(kidneyFaint, bothFaint, spine).changed > 0.9 * spines.pixels, 'the spine fades');
    assert.equal(hueChanges(full, bothFaint, kidney).changed, kidneys.changed, 'the kidneys as they were');
    await page.locator('#opacity').fill('1');
    await page.waitForTimeout(300);
    const again = await shot('opacity-4-all-1');
    assert.equal(hueChanges(full, again, kidney).changed, 0);
    assert.equal(hueChanges(full, again, spine).changed, 0);
  });
});
