/**
 * Multi-threaded WebAssembly in browser mode: `medparse serve` sends the viewer's files with the
 * cross-origin isolation headers, so the page may share memory with the engine worker's threads and
 * onnxruntime-web runs on several; the answers stay the Node engine's. A page without those headers
 * (static hosting that does not send them) runs on one thread and says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { APIResponse, Page } from 'playwright-core';
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

/** Runs PROMPT in browser mode on the open scan; answers the page's answers, thread count and status line. */
async function runInBrowser(page: Page) {
  await page.locator('#prompts').fill(PROMPT);
  await page.locator('#in-browser').check();
  const started = performance.now();
  await runPrompts(page);
  const ms = Math.round(performance.now() - started);
  const stage = (await page.locator('#stage').textContent()) ?? '';
  assert.match(stage, /done in this browser/);
  const threads = Number(await page.locator('#stage').getAttribute('data-threads'));
  return { answers: await browserAnswers(page), threads, stage, ms };
}

/** Whether the page is cross-origin isolated, and the cores the browser reports. */
function isolation(page: Page): Promise<{ isolated: boolean; cores: number }> {
  return page.evaluate(() => ({ isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency }));
}

describe('in-browser mode on several WebAssembly threads when served by medparse serve', { skip: SKIP }, () => {
  let session: PhantomViewer | undefined;
  let onNode: Array<[string, string, number, number]> = [];

  before(async () => {
    session = await startPhantomViewer('medparse-viewer-threads-');
    const engine = ParseEngine.load(session.model);
    onNode = nodeAnswers((await engine.segment(await readVolume(session.scan), PROMPT)).prompts);
    await engine.dispose();
  });

  after(async () => {
    await session?.close();
  });

  it('sends the isolation headers with the viewer files only, not with the API', async () => {
    assert.ok(session);
    const { url } = session.server;
    for (const path of ['/', '/engine-worker.js', '/ort-wasm-simd-threaded.mjs', '/ort-wasm-simd-threaded.wasm']) {
      const response = await fetch(url + path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin', path);
      assert.equal(response.headers.get('cross-origin-embedder-policy'), 'require-corp', path);
    }
    const api = await fetch(url + '/v1/models');
    assert.equal(api.status, 200);
    assert.equal(api.headers.get('cross-origin-embedder-policy'), null, 'the API answers as before');
  });

  it('is cross-origin isolated, runs on several threads and answers as the Node engine does', async () => {
    assert.ok(session);
    const { page } = session;
    await openScan(page, session.server.url, session.scan);
    const { isolated, cores } = await isolation(page);
    assert.equal(isolated, true, 'the page served by medparse serve is cross-origin isolated');
    const run = await runInBrowser(page);
    console.log(`browser mode, isolated, ${cores} cores: ${run.threads} threads, ${run.ms} ms: ${run.stage}`);
    if (cores > 1) assert.ok(run.threads > 1, `${run.threads} thread(s) on ${cores} cores`);
    assert.ok(run.threads <= cores);
    assert.match(run.stage, new RegExp(`, ${run.threads} threads?$`));
    // the same statuses, mask voxels and probability sums as on Node
    assert.deepEqual(run.answers, onNode);
  });

  it('runs on one thread, and says why, where the page comes without the headers', async () => {
    assert.ok(session);
    const page = await session.browser.newPage();
    try {
      // as a static host that does not send them would serve the same files
      await page.route(`${session.server.url}/**`, async (route) => {
        const response: APIResponse = await route.fetch();
        const headers = { ...response.headers() };
        delete headers['cross-origin-opener-policy'];
        delete headers['cross-origin-embedder-policy'];
        await route.fulfill({ response, headers });
      });
      await openScan(page, session.server.url, session.scan);
      assert.equal((await isolation(page)).isolated, false);
      const run = await runInBrowser(page);
      console.log(`browser mode, not isolated: ${run.threads} thread, ${run.ms} ms: ${run.stage}`);
      assert.equal(run.threads, 1);
      assert.match(run.stage, /, 1 thread \(the page is not cross-origin isolated\)$/);
      assert.deepEqual(run.answers, onNode);
    } finally {
      await page.close();
    }
  });
});
