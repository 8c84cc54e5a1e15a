import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestModel } from '../helpers/test-model.js';
import { fileUpload, freePort, startCli, stopChild, submit, waitForState, writePhantom } from './helpers.js';

const redisServer = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
const noRedis =
  redisServer.status === 0
    ? false
    : 'redis-server is not installed (.ci/run installs it: apt-get install -y redis-server); the BullMQ mode is untested here';

/** A private Redis on a free port, without persistence, for this test only. */
async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 20_000);
    redis.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    redis.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
  redis.stdout?.resume();
  redis.stderr?.resume();
  return redis;
}

describe(
  'medparse serve --redis: jobs through BullMQ, run by separate medparse worker processes',
  { skip: noRedis },
  () => {
    let root: string;
    let model: string;
    let phantom: string;
    let redisUrl: string;
    let url: string;
    const children: ChildProcess[] = [];
    const data = () => join(root, 'data');
    const worker = async () => {
      const args = [
        'worker',
        '--redis',
        redisUrl,
        '--data',
        data(),
        '--model',
        model,
        '--workers',
        '1',
        '--stalled-seconds',
        '2',
      ];
      const child = await startCli(args, /taking jobs/);
      children.push(child);
      return child;
    };

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'medparse-bullmq-'));
      model = writeTestModel(join(root, 'model'));
      phantom = await writePhantom(join(root, 'phantom.nii.gz'));
      const redisPort = await freePort();
      children.push(await startRedis(redisPort));
      redisUrl = `redis://127.0.0.1:${redisPort}`;
      const port = await freePort();
      children.push(
        await startCli(
          ['serve', '--port', String(port), '--data', data(), '--model', model, '--redis', redisUrl, '--quiet'],
          /listening on/,
        ),
      );
      url = `http://127.0.0.1:${port}`;
    });
    after(async () => {
      for (const child of children.reverse()) await stopChild(child, 'SIGKILL');
      rmSync(root, { recursive: true, force: true });
    });

    it('runs a job end to end on a worker process: same API, same report', async () => {
      const health = (await (await fetch(`${url}/healthz`)).json()) as { queue: string };
      assert.equal(health.queue, 'redis');
      await worker();
      const response = await submit(url, { task: 'segment', prompts: 'kidneys, spine, brain' }, [fileUpload(phantom)]);
      assert.equal(response.status, 202);
      const { id } = (await response.json()) as { id: string };
      const job = await waitForState(url, id, ['done', 'failed']);
      assert.equal(job.state, 'done', JSON.stringify(job.error));
      assert.equal(job.attempts, 1);
      const report = (await (await fetch(`${url}/v1/jobs/${id}/report`)).json()) as {
        prompts: Array<{ status: string }>;
      };
      assert.deepEqual(
        report.prompts.map((p) => p.status),
        ['present', 'present', 'absent'],
      );
      for (const link of job.links.files) assert.equal((await fetch(url + link)).status, 200, link);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /^medparse_queue_depth 0$/m);
    });

    it('a worker killed mid-job: another worker takes the job over; it finishes once', async () => {
      await worker();
      const response = await submit(url, { task: 'segment', prompts: 'kidney' }, [fileUpload(phantom)]);
      const { id } = (await response.json()) as { id: string };
      await waitForState(url, id, ['running'], 60_000, 5);
      // the worker process that took the job (job.json names it) dies
      const runner = JSON.parse(readFileSync(join(data(), 'jobs', id, 'job.json'), 'utf8')).runner as string;
      const taker = children.find((c) => runner.endsWith(`:${c.pid}`));
      assert.ok(taker, `one of the workers runs the job: ${runner}`);
      await stopChild(taker, 'SIGKILL');
      const job = await waitForState(url, id, ['done', 'failed']);
      assert.equal(job.state, 'done', JSON.stringify(job.error));
      assert.equal(job.attempts, 2, 'the killed run and the one that finished');
    });

    it('DELETE cancels a job the worker is running', async () => {
      const response = await submit(url, { task: 'recognize' }, [fileUpload(phantom)]);
      const { id } = (await response.json()) as { id: string };
      await waitForState(url, id, ['running'], 60_000, 5);
      assert.equal((await fetch(`${url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 200);
      const job = await waitForState(url, id, ['cancelled', 'done', 'failed']);
      assert.equal(job.state, 'cancelled');
      // the worker lives on and takes the next job
      const next = (await (
        await submit(url, { task: 'segment', prompts: 'kidney' }, [fileUpload(phantom)])
      ).json()) as { id: string };
      assert.equal((await waitForState(url, next.id, ['done', 'failed'])).state, 'done');
    });
  },
);
