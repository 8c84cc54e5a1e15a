/**
 * The service against the CLI: one job through `medparse serve` (the first, which loads the model in
 * its worker, and a later one on a warm worker) against the same job as a `medparse segment` process;
 * and jobs per minute for small volumes with 1 and 2 workers. Real HTTP on 127.0.0.1, the shipped model.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePhantomCt } from '../src/core/phantom.js';
import { writeNifti } from '../src/io/write-nifti.js';
import { buildService, DEFAULT_CONFIG } from '../src/service/server.js';
import { DEFAULT_MODEL_DIR } from '../src/core/paths.js';
import type { BenchRow } from './run.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const PROMPTS = 'liver, spleen, kidneys';

async function runJobs(url: string, path: string, count: number): Promise<number> {
  const bytes = readFileSync(path);
  const start = performance.now();
  const ids = await Promise.all(
    Array.from({ length: count }, async () => {
      const form = new FormData();
      form.append('task', 'segment');
      form.append('prompts', PROMPTS);
      form.append('file', new Blob([bytes]), 'scan.nii.gz');
      const response = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form });
      return ((await response.json()) as { id: string }).id;
    }),
  );
  for (const id of ids) {
    for (;;) {
      const job = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as { state: string };
      if (job.state === 'done') break;
      if (job.state === 'failed' || job.state === 'cancelled') throw new Error(`bench job ${id} ${job.state}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return performance.now() - start;
}

async function withService<T>(root: string, workers: number, run: (url: string) => Promise<T>): Promise<T> {
  const service = await buildService({
    ...DEFAULT_CONFIG,
    workers,
    dataDir: join(root, `data-${workers}-${Date.now()}`),
    modelDir: DEFAULT_MODEL_DIR,
  });
  const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    return await run(url);
  } finally {
    await service.close();
  }
}

export async function benchService(): Promise<BenchRow[]> {
  const root = mkdtempSync(join(tmpdir(), 'medparse-bench-service-'));
  try {
    const scan = join(root, 'ct.nii.gz');
    await writeNifti(scan, makePhantomCt());
    const small = join(root, 'small.nii.gz');
    await writeNifti(small, makePhantomCt({ dims: [64, 64, 32] }));

    const cliStart = performance.now();
    const cli = spawnSync(process.execPath, [CLI, 'segment', scan, '-p', PROMPTS, '-o', join(root, 'cli'), '--quiet']);
    if (cli.status !== 0) throw new Error(`medparse segment failed: ${cli.stderr}`);
    const cliMs = performance.now() - cliStart;
    const [firstMs, warmMs] = await withService(root, 1, async (url) => [
      await runJobs(url, scan, 1),
      await runJobs(url, scan, 1),
    ]);
    const perMinute = async (workers: number) =>
      withService(root, workers, async (url) => {
        await runJobs(url, small, workers); // every worker loads its model first
        const count = 12;
        return (count / (await runJobs(url, small, count))) * 60_000;
      });
    const one = await perMinute(1);
    const two = await perMinute(2);
    return [
      { name: `CLI process: segment 128x128x64 phantom, "${PROMPTS}"`, value: cliMs / 1000, unit: 's' },
      { name: 'service: the same job, first (worker loads the model)', value: firstMs / 1000, unit: 's' },
      { name: 'service: the same job, warm worker', value: warmMs / 1000, unit: 's' },
      { name: 'service first job / CLI', value: firstMs / cliMs, unit: 'ratio' },
      { name: 'service warm job / CLI', value: warmMs / cliMs, unit: 'ratio' },
      { name: 'jobs per minute, 64x64x32 phantom, 1 worker', value: one, unit: 'jobs/min' },
      { name: 'jobs per minute, 64x64x32 phantom, 2 workers', value: two, unit: 'jobs/min' },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
