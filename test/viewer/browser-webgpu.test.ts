/**
 * WebGPU in browser mode: where the browser gives a WebGPU adapter (here Debian chromium's SwiftShader
 * one, behind --enable-unsafe-webgpu) and "Use the GPU" is checked, the networks run on it and the
 * answers are the Node engine's; where there is none, the run falls back to WebAssembly and says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { readVolume } from '../../src/io/read.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import {
  browserAnswers,
  nodeAnswers,
  openScan,
  runPrompts,
  SKIP,
  startPhantomViewer,
  type PhantomViewer,
} from './harness.js';

const PROMPT = 'kidneys, brain, vertebral column, banana';

type Answers = Array<[string, string, number, number]>;

/** Runs PROMPT in browser mode with the GPU setting as given; answers the answers, backend, status line and time. */
async function runInBrowser(page: Page, gpu: boolean) {
  await page.locator('#prompts').fill(PROMPT);
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
