/** Real HTTP against a real service: start one, submit uploads, wait for jobs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { makePhantomCt } from '../../src/core/phantom.js';
import { gunzipOrThrow } from '../../src/io/gunzip.js';
import { decodeNifti, parseNiftiHeader } from '../../src/io/nifti.js';
import { writeNifti } from '../../src/io/write-nifti.js';
import { buildService, DEFAULT_CONFIG, type Service, type ServiceConfig } from '../../src/service/server.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface RunningService {
  service: Service;
  url: string;
  close(): Promise<void>;
}

export async function startService(
  config: Pick<ServiceConfig, 'dataDir' | 'modelDir'> & Partial<ServiceConfig>,
): Promise<RunningService> {
  const service = await buildService({ ...DEFAULT_CONFIG, ...config });
  const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
  return { service, url, close: () => service.close() };
}

/** The phantom CT as a .nii.gz (dims default 128x128x64; the seed varies its noise). */
export async function writePhantom(path: string, dims?: [number, number, number], seed?: number): Promise<string> {
  await writeNifti(path, makePhantomCt({ ...(dims ? { dims } : {}), ...(seed ? { seed } : {}) }));
  return path;
}

export interface Upload {
  name: string;
  bytes: Uint8Array;
}

export function fileUpload(path: string, name = path.split('/').pop() as string): Upload {
  return { name, bytes: readFileSync(path) };
}

export async function submit(
  url: string,
  fields: Record<string, string>,
  files: Upload[],
  headers: Record<string, string> = {},
  route = '/v1/jobs',
): Promise<Response> {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  for (const file of files) form.append('file', new Blob([Buffer.from(file.bytes)]), file.name);
  return fetch(url + route, { method: 'POST', body: form, headers });
}

export interface JobJson {
  id: string;
  url: string;
  state: string;
  stage: string | null;
  fraction: number;
  attempts: number;
  error: { code: string; message: string } | null;
  links: { events: string; report: string | null; files: string[] };
}

export async function getJob(url: string, id: string): Promise<JobJson> {
  const response = await fetch(`${url}/v1/jobs/${id}`);
  if (response.status !== 200) throw new Error(`GET job ${id}: ${response.status} ${await response.text()}`);
  return (await response.json()) as JobJson;
}

/** Polls until the job is in one of `states`; fails after `timeoutMs` with the state it is in. */
export async function waitForState(
  url: string,
  id: string,
  states: string[],
  timeoutMs = 120_000,
  pollMs = 50,
): Promise<JobJson> {
  const deadline = Date.now() + timeoutMs;
  let job = await getJob(url, id);
  while (!states.includes(job.state)) {
    if (Date.now() > deadline)
      throw new Error(`job ${id} still ${job.state} (${JSON.stringify(job)}), waiting for ${states}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    job = await getJob(url, id);
  }
  return job;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts the medparse CLI as its own process and waits until `ready` appears on its stderr. */
export async function startCli(args: string[], ready: RegExp, timeoutMs = 60_000): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`medparse ${args[0]} did not start: ${err}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (ready.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`medparse ${args[0]} exited with ${code}: ${err}`));
    });
  });
  // keep draining so the child never blocks on a full pipe
  child.stderr?.resume();
  return child;
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** The voxels and geometry of a .nii.gz held in memory (a file the service sent). */
export function niftiVoxels(bytes: Uint8Array) {
  const raw = gunzipOrThrow(bytes, 'labels.nii.gz');
  const header = parseNiftiHeader(raw, 'labels.nii.gz');
  return decodeNifti(header, raw, header.voxOffset, 'labels.nii.gz', {});
}

/** Polls `check` every 10 ms until it holds; fails after `timeoutMs` saying what was awaited. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether a process of this id exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
