import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { writeTestModel } from '../helpers/test-model.js';
import {
  fileUpload,
  niftiVoxels,
  startService,
  submit,
  waitForState,
  writePhantom,
  type RunningService,
} from './helpers.js';

describe('medparse serve: 20 jobs submitted at once on one worker', () => {
  let root: string;
  let model: string;
  let running: RunningService;
  const inputs: string[] = [];
  const prompts = ['kidneys, spine', 'kidney'];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-many-'));
    model = writeTestModel(join(root, 'model'));
    for (const seed of [1, 2])
      inputs.push(await writePhantom(join(root, `phantom-${seed}.nii.gz`), [64, 64, 32], seed));
    running = await startService({ dataDir: join(root, 'data'), modelDir: model, workers: 1 });
  });
  after(async () => {
    await running.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('all finish, once each, and each result equals the CLI run on the same input', async () => {
    const orders = Array.from({ length: 20 }, (_, i) => ({ input: i % 2, prompts: prompts[Math.floor(i / 2) % 2] }));
    const responses = await Promise.all(
      orders.map((o) => submit(running.url, { task: 'segment', prompts: o.prompts }, [fileUpload(inputs[o.input])])),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      orders.map(() => 202),
    );
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id));
    assert.equal(new Set(ids).size, 20);
    const expected = new Map<string, Buffer>();
    for (const [index, input] of inputs.entries())
      for (const text of prompts) {
        const out = join(root, `cli-${index}-${text.replace(/\W+/g, '_')}`);
        const code = await runCli(['segment', input, '-p', text, '-o', out, '--model', model, '--quiet'], {
          stdout: () => {},
          stderr: () => {},
        });
        assert.equal(code, 0);
        expected.set(
          `${index}|${text}`,
          Buffer.from(niftiVoxels(readFileSync(join(out, 'labels.nii.gz'))).data.buffer),
        );
      }
    for (const [i, id] of ids.entries()) {
      const job = await waitForState(running.url, id, ['done', 'failed', 'cancelled'], 300_000, 100);
      assert.equal(job.state, 'done', JSON.stringify(job.error));
      assert.equal(job.attempts, 1, `job ${i} ran once`);
      const labels = await (await fetch(`${running.url}/v1/jobs/${id}/files/labels.nii.gz`)).arrayBuffer();
      const voxels = Buffer.from(niftiVoxels(new Uint8Array(labels)).data.buffer);
      assert.ok(
        voxels.equals(expected.get(`${orders[i].input}|${orders[i].prompts}`) as Buffer),
        `job ${i} equals the CLI`,
      );
    }
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    assert.match(metrics, /^medparse_jobs\{state="done"\} 20$/m);
  });
});
