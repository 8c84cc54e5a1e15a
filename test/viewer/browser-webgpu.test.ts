/**
 * WebGPU in browser mode: where the browser gives a WebGPU adapter (here Debian chromium's SwiftShader
 * one, behind --enable-unsafe-webgpu) and "Use the GPU" is checked, the networks run on it and the
 * answers are the Node engine's; where there is none, the run falls back to WebAssembly and says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR, DEMO_SCAN } from '../../src/core/paths.js';
import { readVolume } from '../../src/io/read.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import {
  browserAnswers,
  browserLabels,
  maskOverlap,
  nodeAnswers,
  openScan,
  runPrompts,
  SKIP,
  startPhantomViewer,
  startViewer,
  type PhantomViewer,
  type ViewerSession,
} from './harness.js';

const PROMPT = 'kidneys, brain, vertebral column, banana';

type Answers = Array<[string, string, number, number]>;

/** Runs PROMPT in browser mode with the GPU setting as given; answers the answers, backend, status line and time. */
async function runInBrowser(page: Page, gpu: boolean, prompt = PROMPT) {
  await page.locator('#prompts').fill(prompt);
  await page.locator('#in-browser').check();
  await page.locator('#use-gpu').setChecked(gpu);
  const started = performance.now();
  await runPrompts(page);
  const ms = Math.round(performance.now() - started);
  const stage = (await page.locator('#stage').textContent()) ?? '';
  const backend = (await page.locator('#stage').getAttribute('data-backend')) ?? '';
  return { answers: await browserAnswers(page), backend, stage, ms };
}

/** The WebGPU adapter the page's browser gives ('vendor architecture'), or undefined without one. */
function adapterOf(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => {
    const gpu = (
      navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }
    ).gpu;
    const adapter = await gpu?.requestAdapter();
    return adapter ? `${adapter.info?.vendor ?? ''} ${adapter.info?.architecture ?? ''}`.trim() : undefined;
  });
}

function nodeRun(session: PhantomViewer): Promise<Answers> {
  const engine = ParseEngine.load(session.model);
  return readVolume(session.scan)
    .then((volume) => engine.segment(volume, PROMPT))
    .then((result) => nodeAnswers(result.prompts))
    .finally(() => engine.dispose());
}

describe('browser mode on WebGPU where chromium has an adapter', { skip: SKIP }, () => {
  let session: PhantomViewer | undefined;
  let onNode: Answers = [];

  before(async () => {
    session = await startPhantomViewer('medparse-viewer-webgpu-', ['--enable-unsafe-webgpu']);
    onNode = await nodeRun(session);
  });

  after(async () => {
    await session?.close();
  });

  it('runs the networks on WebGPU and answers as the Node engine does', async (t) => {
    assert.ok(session);
    const { page } = session;
    await openScan(page, session.server.url, session.scan);
    const adapter = await adapterOf(page);
    if (!adapter) return t.skip('this chromium gives no WebGPU adapter even with --enable-unsafe-webgpu');
    const gpu = await runInBrowser(page, true);
    console.log(`browser mode on WebGPU (${adapter}): ${gpu.ms} ms: ${gpu.stage}`);
    assert.equal(gpu.backend, 'webgpu', gpu.stage);
    assert.match(gpu.stage, /, on WebGPU \(.+\)$/);
    assert.deepEqual(gpu.answers, onNode);
    // the same page, the same scan, on WebAssembly: for the time
    const wasm = await runInBrowser(page, false);
    console.log(`browser mode on WebAssembly: ${wasm.ms} ms: ${wasm.stage}`);
    assert.deepEqual(wasm.answers, onNode);
  });
});

describe('browser mode without WebGPU', { skip: SKIP }, () => {
  let session: PhantomViewer | undefined;
  let onNode: Answers = [];

  before(async () => {
    session = await startPhantomViewer('medparse-viewer-no-webgpu-');
    onNode = await nodeRun(session);
  });

  after(async () => {
    await session?.close();
  });

  it('falls back to WebAssembly when the GPU is asked for, says why, and answers as the Node engine does', async () => {
    assert.ok(session);
    const { page } = session;
    await openScan(page, session.server.url, session.scan);
    assert.equal(await adapterOf(page), undefined, 'no WebGPU without --enable-unsafe-webgpu');
    const run = await runInBrowser(page, true);
    console.log(`browser mode, GPU asked for, none: ${run.ms} ms: ${run.stage}`);
    assert.equal(run.backend, 'wasm');
    // chromium without the switch has navigator.gpu in the worker but gives no adapter
    assert.match(
      run.stage,
      /, on WebAssembly \((this browser has no WebGPU|WebGPU gives no adapter here)\), \d+ threads?/,
    );
    assert.deepEqual(run.answers, onNode);
  });
});

describe("browser mode with the GPU asked for, on the shipped model's 3D U-Nets", { skip: SKIP }, () => {
  let session: ViewerSession | undefined;
  let root = '';
  const prompt = 'liver, spleen, both kidneys';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-viewer-webgpu-demo-'));
    session = await startViewer(join(root, 'data'), DEFAULT_MODEL_DIR, [], ['--enable-unsafe-webgpu']);
  });

  after(async () => {
    await session?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('goes on on WebAssembly where WebGPU cannot run them, says why, and answers as the Node engine does', async (t) => {
    assert.ok(session);
    const { page } = session;
    await openScan(page, session.server.url, DEMO_SCAN);
    if (!(await adapterOf(page)))
      return t.skip('this chromium gives no WebGPU adapter even with --enable-unsafe-webgpu');
    const run = await runInBrowser(page, true, prompt);
    console.log(`demo CT, GPU asked for: ${run.ms} ms: ${run.stage}`);
    // onnxruntime-web 1.23.2: "Only Conv1d and Conv2d are supported" at the stem's 3D Conv. Should a later
    // version run them, this says so (the backend is then 'webgpu') and the answers must still be Node's.
    if (run.backend === 'wasm')
      assert.match(run.stage, /, on WebAssembly \(WebGPU could not (run|load) the network: .+\)/);
    const engine = ParseEngine.load(DEFAULT_MODEL_DIR);
    const result = await engine.segment(await readVolume(DEMO_SCAN), prompt).finally(() => engine.dispose());
    assert.deepEqual(
      run.answers.map(([text, status]) => [text, status]),
      result.prompts.map((p) => [p.text, p.status]),
    );
    // the same tolerance as WebAssembly against Node on this CT (viewer.test.ts): measured Dice 0.99994
    // to 0.99996 after the fallback, as on WebAssembly alone
    const labels = await browserLabels(page);
    for (const [i, p] of result.prompts.entries()) {
      const [inter, a, b] = maskOverlap(labels, i + 1, p.probability);
      const dice = a + b ? (2 * inter) / (a + b) : 1;
      console.log(`${p.text}: ${b} voxels on Node, ${a} in the browser, Dice ${dice.toFixed(6)}`);
      assert.ok(dice >= 0.999, `${p.text}: Dice ${dice}`);
    }
  });
});
