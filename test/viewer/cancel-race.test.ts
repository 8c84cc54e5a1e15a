/**
 * The viewer's Cancel racing the job's end, made deterministic in chromium: the cancel request is held
 * until the job is done on the server, then let through. The server answers 409 ALREADY_FINISHED and
 * keeps the results; the page shows them with no error. Skipped with a message without chromium.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitForState } from '../service/helpers.js';
import { listedStatuses, openScan, runEnded, SKIP, startPhantomViewer, type PhantomViewer } from './harness.js';

describe("the viewer's Cancel when the job finishes first", { skip: SKIP }, () => {
  let session: PhantomViewer | undefined;

  before(async () => {
    session = await startPhantomViewer('medparse-cancel-race-');
  });

  after(async () => {
    await session?.close();
  });

  it('shows the results: the cancel arrives after the end and is answered 409, nothing is removed', async () => {
    assert.ok(session);
    const { page, server } = session;
    await openScan(page, server.url, session.scan);
    await page.locator('#prompts').fill('kidneys, banana');
    const answers: number[] = [];
    // hold the cancel until the job has finished on the server
    await page.route('**/v1/jobs/*/cancel', async (route) => {
      const id = /\/v1\/jobs\/([^/]+)\/cancel/.exec(route.request().url())?.[1] ?? '';
      await waitForState(server.url, id, ['done', 'failed', 'cancelled']);
      const response = await route.fetch();
      answers.push(response.status());
      await route.fulfill({ response });
    });
    await page.locator('#run').click();
    await page.locator('#cancel').click();
    await runEnded(page);
    await page.waitForFunction(() => document.querySelectorAll('#answers > li').length > 0);
    assert.deepEqual(answers, [409], 'the cancel reached the server after the end');
    assert.equal(await page.locator('#error').textContent(), '', 'no error');
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'done');
    assert.deepEqual(await listedStatuses(page), [
      ['kidneys', 'present'],
      ['banana', 'unknown'],
    ]);
    const downloads = await page.locator('#downloads a').allTextContents();
    assert.ok(downloads.includes('labels.nii.gz'), downloads.join(', '));
    const href = await page.locator('#downloads a', { hasText: 'report.json' }).getAttribute('href');
    assert.equal((await fetch(href ?? '')).status, 200, 'the results are still on the server');
  });
});
