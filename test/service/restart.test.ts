import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestModel } from '../helpers/test-model.js';
import { fileUpload, freePort, startCli, stopChild, submit, waitForState, writePhantom } from './helpers.js';

describe('medparse serve survives kill -9: queued jobs run, interrupted ones run again, finished ones are served', () => {
  let root: string;
  let model: string;
  let phantom: string;
  const children: ChildProcess[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-restart-'));
    model = writeTestModel(join(root, 'model'));
    phantom = await writePhantom(join(root, 'phantom.nii.gz'));
  });
  after(async () => {
    for (const child of children) await stopChild(child, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  async function serve(): Promise<string> {
    const port = await freePort();
    const args = [
      'serve',
      '--port',
      String(port),
      '--data',
      join(root, 'data'),
      '--model',
      model,
      '--workers',
      '1',
      '--quiet',
    ];
    children.push(await startCli(args, /listening on/));
    return `http://127.0.0.1:${port}`;
  }

  it('kill -9 with one job running and one queued; after the restart each finishes once', async () => {
    const first = await serve();
    const server = children[children.length - 1];
    const post = async (fields: Record<string, string>) =>
      ((await (await submit(first, fields, [fileUpload(phantom)])).json()) as { id: string }).id;
    const finished = await post({ task: 'segment', prompts: 'kidney' });
    await waitForState(first, finished, ['done']);
    const interrupted = await post({ task: 'segment', prompts: 'kidney, spine' });
    const queued = await post({ task: 'recognize' });
    await waitForState(first, interrupted, ['running'], 60_000, 5);
    assert.equal((await waitForState(first, queued, ['queued'])).attempts, 0);
    await stopChild(server, 'SIGKILL');
    await assert.rejects(fetch(`${first}/healthz`), 'the server is gone');

    const second = await serve();
    const resumed = await waitForState(second, interrupted, ['done', 'failed']);
    assert.equal(resumed.state, 'done', JSON.stringify(resumed.error));
    assert.equal(resumed.attempts, 2, 'the interrupted run counts as one attempt, the rerun as the second');
    const ran = await waitForState(second, queued, ['done', 'failed']);
    assert.equal(ran.state, 'done', JSON.stringify(ran.error));
    assert.equal(ran.attempts, 1, 'the queued job ran once');
    const kept = await waitForState(second, finished, ['done'], 1000);
    assert.equal(kept.attempts, 1, 'the finished job was not run again');
    const report = (await (await fetch(`${second}/v1/jobs/${interrupted}/report`)).json()) as {
      prompts: Array<{ status: string }>;
    };
    assert.deepEqual(
      report.prompts.map((p) => p.status),
      ['present', 'present'],
    );
    assert.equal((await fetch(`${second}/v1/jobs/${finished}/files/kidney.nii.gz`)).status, 200);
  });
});
