/**
 * What the chromium viewer tests share: a real `medparse serve` process, headless Debian chromium
 * (WebGL2 through SwiftShader) and a page on it (also with the generated CT and the test model in a
 * folder of its own), the waits on the page's state, running a prompt, the answers the page lists,
 * colour counting in screenshots and the folder screenshots are kept in.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makePhantomCt } from '../../src/core/phantom.js';
import type { Volume } from '../../src/core/volume.js';
import { writeNifti } from '../../src/io/write-nifti.js';
import { VIEWER_DIR } from '../../src/service/routes-viewer.js';
import type { PromptResult } from '../../src/tasks/results.js';
import { writeTestModel } from '../helpers/test-model.js';
import { decodePng, type DecodedPng } from '../outputs/png-decode.js';
import { CLI } from '../service/helpers.js';

export const CHROMIUM = process.env.MEDPARSE_CHROMIUM ?? '/usr/bin/chromium';

/** Why the chromium suites are skipped here, or false when they can run. */
export const SKIP = !existsSync(CHROMIUM)
  ? `no chromium at ${CHROMIUM} (apt-get install chromium, or set MEDPARSE_CHROMIUM)`
  : !existsSync(join(VIEWER_DIR, 'viewer.js'))
    ? `the viewer is not built (${VIEWER_DIR}): npm run build`
    : false;

/**
 * Headless chromium with WebGL2 through SwiftShader (no GPU needed); `extraArgs` add switches (such as
 * --enable-unsafe-webgpu, which gives WebGPU a SwiftShader adapter).
 */
export function launch(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--ignore-gpu-blocklist',
      ...extraArgs,
    ],
  });
}

export interface Server {
  url: string;
  child: ChildProcess;
}

/** Starts `medparse serve` on a free port; resolves with its URL once it listens. */
export async function serve(dataDir: string, modelDir: string, ...extra: string[]): Promise<Server> {
  const args = [CLI, 'serve', '--port', '0', '--data', dataDir, '--model', modelDir, '--quiet', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /listening on (http:\/\/[^;\s]+)/.exec(log);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`medparse serve exited ${code}: ${log}`)));
  });
  return { url, child };
}

/** A 1280 x 800 page whose script errors are logged. */
export async function newPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  return page;
}

/** A server, a browser and a page, as every chromium suite starts them; close() ends all three. */
export interface ViewerSession {
  server: Server;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

export async function startViewer(
  dataDir: string,
  modelDir: string,
  extra: readonly string[] = [],
  browserArgs: readonly string[] = [],
): Promise<ViewerSession> {
  const server = await serve(dataDir, modelDir, ...extra);
  const browser = await launch(browserArgs).catch((error: unknown) => {
    server.child.kill();
    throw error;
  });
  const page = await newPage(browser);
  return {
    server,
    browser,
    page,
    async close() {
      await browser.close();
      server.child.kill();
    },
  };
}

/** The generated CT the chromium suites open (96 x 96 x 48; the test model finds its kidneys and spine). */
export function phantomCt(): Volume {
  return makePhantomCt({ dims: [96, 96, 48] });
}

/** A viewer session on a folder of its own holding the generated CT and the test model. */
export interface PhantomViewer extends ViewerSession {
  /** The temporary folder: removed by close(). */
  root: string;
  /** The generated CT (phantomCt), as root/phantom.nii.gz. */
  scan: string;
  /** The test model's folder (writeTestModel), which the server runs. */
  model: string;
}

/**
 * The generated CT and the test model in a new temporary folder named `prefix`..., served and opened in
 * chromium (launched with `browserArgs` added).
 */
export async function startPhantomViewer(prefix: string, browserArgs: readonly string[] = []): Promise<PhantomViewer> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const scan = join(root, 'phantom.nii.gz');
  await writeNifti(scan, phantomCt());
  const model = writeTestModel(join(root, 'model'));
  const session = await startViewer(join(root, 'data'), model, [], browserArgs).catch((error: unknown) => {
    rmSync(root, { recursive: true, force: true });
    throw error;
  });
  return {
    ...session,
    root,
    scan,
    model,
    async close() {
      await session.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Opens the viewer at `url` and the scan at `file` in it, and waits until the scan is shown. */
export async function openScan(page: Page, url: string, file: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'idle');
  await page.locator('#file').setInputFiles(file);
  await page.waitForFunction(() => document.body.dataset.state === 'loaded');
}

/** Waits for a run started in the page to end (done, or back to loaded with an error shown). */
export async function runEnded(page: Page): Promise<void> {
  await page.waitForFunction(() => ['done', 'loaded'].includes(document.body.dataset.state ?? ''), undefined, {
    timeout: 240_000,
  });
}

/**
 * Runs the prompts on the open scan (on the server, or in the page when browser mode is checked; filled
 * in first when given) and waits for the end, which must bring no error.
 */
export async function runPrompts(page: Page, prompts?: string): Promise<void> {
  if (prompts !== undefined) await page.locator('#prompts').fill(prompts);
  await page.locator('#run').click();
  await runEnded(page);
  assert.equal(await page.locator('#error').textContent(), '', 'no error');
}

/** Hides NiiVue's red crosshair, which would count as colour while pixels are compared. */
export async function hideCrosshair(page: Page): Promise<void> {
  await page.evaluate(() =>
    (
      window as unknown as { medparseViewer: { nv: { setCrosshairWidth(w: number): void } } }
    ).medparseViewer.nv.setCrosshairWidth(0),
  );
}

/**
 * Whether the pixel at `i` (its R, G, B) is in the hue of `rgb`: the overlay is blended with the scan at
 * its opacity, so a pixel counts when its colour minus its grey level points the way `rgb`'s does
 * (cosine > 0.95) and is clearly coloured. The scan is grey, so before an overlay (crosshair hidden)
 * none count.
 */
export function inHue(pixels: ArrayLike<number>, i: number, rgb: readonly number[]): boolean {
  const chroma = (r: number, g: number, b: number) => {
    const grey = (r + g + b) / 3;
    return [r - grey, g - grey, b - grey];
  };
  const got = chroma(pixels[i], pixels[i + 1], pixels[i + 2]);
  const length = Math.hypot(...got);
  if (length < 8) return false;
  const want = chroma(rgb[0], rgb[1], rgb[2]);
  return (got[0] * want[0] + got[1] * want[1] + got[2] * want[2]) / (length * Math.hypot(...want)) > 0.95;
}

/** Pixels of a decoded PNG in the hue of `rgb` (inHue). */
export function countHue(png: DecodedPng, rgb: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < png.pixels.length; i += png.channels) if (inHue(png.pixels, i, rgb)) n++;
  return n;
}

/** Pixels of a screenshot (PNG, as playwright takes it) in the hue of `rgb`. */
export function countColour(png: Buffer, rgb: readonly number[]): number {
  return countHue(decodePng(new Uint8Array(png)), rgb);
}

let shotDir = '';
/** Screenshots are kept after the run (their paths are printed) for CI and people to look at. */
export function shotFolder(): string {
  shotDir ||= mkdtempSync(join(tmpdir(), 'medparse-viewer-screenshots-'));
  return shotDir;
}

/** Clicks the download link named `name` in the results and answers the saved file's bytes. */
export async function download(page: Page, name: string): Promise<Buffer> {
  const link = page.locator('#downloads a').filter({ hasText: new RegExp(`^${name.replace(/\./g, '\\.')}$`) });
  const [saved] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(saved.suggestedFilename(), name);
  return readFileSync(await saved.path());
}

/** Row-major 4x4 affines equal within the float32 precision of a NIfTI header. */
export function assertAffine(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  for (let i = 0; i < 16; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) < 1e-4, `${what} affine[${i}]: ${actual[i]} vs ${expected[i]}`);
}

/** The answers the page lists: text and status. */
export function listedStatuses(page: Page): Promise<Array<[string, string]>> {
  return page
    .locator('#answers > li')
    .evaluateAll((items) =>
      items.map((li) => [(li as HTMLElement).dataset.text ?? '', (li as HTMLElement).dataset.status ?? '']),
    );
}

/** The browser mode's answers as the page lists them: text, status, mask voxels, sum of the probability map. */
export function browserAnswers(page: Page): Promise<Array<[string, string, number, number]>> {
  return page.locator('#answers > li').evaluateAll((items) =>
    items.map((li) => {
      const data = (li as HTMLElement).dataset;
      return [data.text ?? '', data.status ?? '', Number(data.voxels), Number(data.probabilitySum)];
    }),
  );
}

/** The same of the Node engine's answers, to compare with browserAnswers. */
export function nodeAnswers(prompts: readonly PromptResult[]): Array<[string, string, number, number]> {
  return prompts.map((p) => {
    let [voxels, sum] = [0, 0];
    for (const v of p.probability ?? []) if (v) [voxels, sum] = [voxels + 1, sum + v];
    return [p.text, p.status, voxels, sum];
  });
}

/** Voxels in both, in the browser's label `value`, and in Node's mask (probability > 0). */
export function maskOverlap(
  labels: readonly number[],
  value: number,
  probability?: Uint8Array,
): [number, number, number] {
  let [inter, a, b] = [0, 0, 0];
  for (let i = 0; i < labels.length; i++) {
    const [x, y] = [labels[i] === value, (probability?.[i] ?? 0) > 0];
    if (x) a++;
    if (y) b++;
    if (x && y) inter++;
  }
  return [inter, a, b];
}

/** The label map of the page's last browser-mode run (value i + 1 for answer i). */
export function browserLabels(page: Page): Promise<number[]> {
  return page.evaluate(() =>
    Array.from(
      (window as unknown as { medparseViewer: { browserRun?: { labels: Uint16Array } } }).medparseViewer.browserRun
        ?.labels ?? [],
    ),
  );
}
