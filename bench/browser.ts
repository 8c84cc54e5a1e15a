/**
 * Browser mode (the viewer's "Run in this browser") against the Node engine: the same prompts on the real
 * CT of data/demo with the shipped model, the tab's peak memory, and the largest volume browser mode ran
 * here (generated CTs of growing size, closed-form test network). Headless Debian chromium through
 * playwright-core, against a real `medparse serve`; skipped when chromium is absent.
 *
 * Memory is the renderer process's peak resident set (Linux /proc/<pid>/status VmHWM): the page, its
 * engine Web Worker (a dedicated worker lives in its page's renderer), both JS heaps, their ArrayBuffers
 * and onnxruntime-web's WebAssembly memory. One fresh browser per run, so each peak is that run's.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { makePhantomCt } from '../src/core/phantom.js';
import { DEFAULT_MODEL_DIR, DEMO_SCAN } from '../src/core/paths.js';
import { readVolume } from '../src/io/read.js';
import { writeNifti } from '../src/io/write-nifti.js';
import { ParseEngine } from '../src/tasks/engine.js';
import { writeTestModel } from '../test/helpers/test-model.js';
import { launch, runEnded, serve, SKIP, type Server } from '../test/viewer/harness.js';
import { BenchSkipped, type BenchRow } from './run.js';

const DEMO_PROMPTS = 'liver, spleen, both kidneys';
/** Generated CTs tried in turn, smallest first; the next is skipped once a run fails or would not fit. */
const GROWING: Array<[number, number, number]> = [
  [128, 128, 64],
  [256, 256, 128],
  [512, 512, 256],
];
/**
 * The tab memory the derived size is computed for: 4 GiB, a modest machine's tab (the volume's arrays are
 * JS ArrayBuffers in the worker; only the networks' windows go into the WebAssembly memory).
 */
const BUDGET_BYTES = 4 * 2 ** 30;
const MIB = 2 ** 20;

interface BrowserRun {
  ms: number;
  /** The tab's peak resident memory in bytes; undefined without /proc. */
  peakBytes: number | undefined;
  statuses: string[];
  error: string;
}

export async function benchBrowser(): Promise<BenchRow[]> {
  if (SKIP) throw new BenchSkipped(`browser mode: ${SKIP}`);
  const root = mkdtempSync(join(tmpdir(), 'medparse-bench-browser-'));
  const servers: Server[] = [];
  try {
    const shipped = await serve(join(root, 'data-shipped'), DEFAULT_MODEL_DIR);
    servers.push(shipped);
    const demo = await demoRun(shipped.url);
    const test = await serve(join(root, 'data-test'), writeTestModel(join(root, 'model'), [3, 3, 3]));
    servers.push(test);
    return [...demo.rows, ...(await growingRows(test.url, root, demo))];
  } finally {
    for (const server of servers) server.child.kill();
    rmSync(root, { recursive: true, force: true });
  }
}

interface DemoRun {
  rows: BenchRow[];
  voxels: number;
  peakBytes: number | undefined;
}

/** The demo CT with the shipped model: Node (load, read, parse) against the first run in a fresh tab. */
async function demoRun(url: string): Promise<DemoRun> {
  const nodeStart = performance.now();
  const engine = ParseEngine.load(DEFAULT_MODEL_DIR);
  const volume = await readVolume(DEMO_SCAN);
  const result = await engine.segment(volume, DEMO_PROMPTS);
  const nodeMs = performance.now() - nodeStart;
  await engine.dispose();
  const browser = await runInBrowser(url, DEMO_SCAN, DEMO_PROMPTS);
  const nodeStatuses = result.prompts.map((p) => p.status);
  if (browser.error || browser.statuses.join() !== nodeStatuses.join())
    throw new Error(
      `browser mode on the demo CT answered ${browser.statuses.join(', ') || browser.error}; Node ${nodeStatuses.join(', ')}`,
    );
  const label = `'${DEMO_PROMPTS}' on the demo CT (122x101x112), shipped model, first run`;
  const rows = [
    {
      name: `${label}: browser / Node`,
      value: browser.ms / nodeMs,
      unit: 'x',
      note: `Node ${seconds(nodeMs)} (load, read, parse), browser ${seconds(browser.ms)} (Run to done: model fetch, sessions, read, parse)`,
    },
    peakRow(`tab's peak memory, that run`, browser.peakBytes),
  ];
  return { rows, voxels: volume.data.length, peakBytes: browser.peakBytes };
}

/**
 * Generated CTs of growing size with the closed-form test network (seconds per run, so the sizes can
 * grow): how the tab's memory grows with the volume, and the largest one that ran. A size is not tried
 * when the fit of the runs so far says it would need more than half the memory the machine has free.
 */
async function growingRows(url: string, root: string, demo: DemoRun): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const points: Array<[number, number]> = [];
  let largest: { dims: string; voxels: number } | undefined;
  let stopped = 'every size tried ran';
  for (const dims of GROWING) {
    const voxels = dims[0] * dims[1] * dims[2];
    const predicted = points.length >= 2 ? fitLine(points).at(voxels) : undefined;
    if (predicted !== undefined && predicted > freemem() / 2) {
      stopped = `${dims.join('x')} not tried: the fit says ${mib(predicted)} MiB, over half the machine's free ${mib(freemem())} MiB`;
      break;
    }
    const path = join(root, `ct-${dims.join('x')}.nii.gz`);
    await writeNifti(path, makePhantomCt({ dims, spacing: [0.8, 0.8, 1.5] }), { compressionLevel: 1 });
    const run = await runInBrowser(url, path, 'kidneys');
    rmSync(path);
    if (run.error) {
      stopped = `${dims.join('x')} failed: ${run.error}`;
      break;
    }
    largest = { dims: dims.join('x'), voxels };
    const name = `generated CT ${dims.join('x')}, test network: tab's peak memory`;
    rows.push(peakRow(name, run.peakBytes, `Run to done ${seconds(run.ms)}`));
    if (run.peakBytes !== undefined) points.push([voxels, run.peakBytes]);
  }
  rows.push({
    name: 'largest volume browser mode ran here (measured: generated CTs of growing size)',
    value: (largest?.voxels ?? 0) / 1e6,
    unit: 'M voxels',
    note: `${largest?.dims ?? 'none'}; ${stopped}`,
  });
  if (points.length >= 2) rows.push(...derivedRows(fitLine(points), demo));
  return rows;
}

/**
 * Memory per voxel from the fit, and what it implies for the shipped model: its fixed part is the demo
 * run's peak less the fit at the demo's size (the real networks' sessions and weights), and the
 * largest volume within BUDGET_BYTES follows. Derived, not run.
 */
function derivedRows(fit: Line, demo: DemoRun): BenchRow[] {
  const rows: BenchRow[] = [
    {
      name: 'tab memory per voxel (least-squares fit over the generated CTs)',
      value: fit.slope,
      unit: 'bytes',
      note: `plus ${mib(fit.intercept)} MiB fixed (page, viewer, test network)`,
    },
  ];
  if (demo.peakBytes === undefined) return rows;
  const fixed = demo.peakBytes - fit.slope * demo.voxels;
  rows.push({
    name: `largest volume within a ${mib(BUDGET_BYTES)} MiB tab, shipped model (derived from the fit, not run)`,
    value: (BUDGET_BYTES - fixed) / fit.slope / 1e6,
    unit: 'M voxels',
    note: `${mib(fixed)} MiB fixed with the shipped networks (demo CT peak less the per-voxel part) + ${fit.slope.toFixed(1)} bytes/voxel`,
  });
  return rows;
}

/** Opens the viewer in a fresh browser, runs `prompts` in the page, and reads the tab's peak memory. */
async function runInBrowser(url: string, scan: string, prompts: string): Promise<BrowserRun> {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    let crashed = '';
    page.on('crash', () => (crashed = 'the tab crashed (out of memory?)'));
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    await page.locator('#file').setInputFiles(scan);
    // a large scan takes NiiVue a while to show (SwiftShader draws on the CPU)
    await page.waitForFunction(() => document.body.dataset.state === 'loaded', undefined, { timeout: 300_000 });
    await page.locator('#prompts').fill(prompts);
    await page.locator('#in-browser').check();
    const start = performance.now();
    await page.locator('#run').click();
    await runEnded(page).catch((error: unknown) => {
      crashed ||= error instanceof Error ? error.message.split('\n')[0] : String(error);
    });
    const ms = performance.now() - start;
    console.error(`browser mode: ${scan.split('/').pop()} in ${seconds(ms)}${crashed ? `: ${crashed}` : ''}`);
    const peakBytes = rendererPeakBytes();
    if (crashed) return { ms, peakBytes, statuses: [], error: crashed };
    return { ms, peakBytes, statuses: await statuses(page), error: (await page.locator('#error').textContent()) ?? '' };
  } finally {
    await browser.close();
  }
}

function statuses(page: Page): Promise<string[]> {
  return page
    .locator('#answers > li')
    .evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.status ?? ''));
}

/**
 * The largest peak resident set (VmHWM) among chromium renderer processes started by this process: the
 * tab's (a spare renderer, if any, is far smaller). Undefined where /proc is not there.
 */
function rendererPeakBytes(): number | undefined {
  if (!existsSync('/proc/self/status')) return undefined;
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(`/proc/${name}/stat`);
    // the command name (2nd field) may hold spaces: the parent id is the 2nd field after its ')'
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : NaN;
    if (Number.isFinite(ppid)) parents.set(Number(name), ppid);
  }
  const descends = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  let peak: number | undefined;
  for (const pid of parents.keys()) {
    if (!descends(pid) || !readProc(`/proc/${pid}/cmdline`)?.includes('--type=renderer')) continue;
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readProc(`/proc/${pid}/status`) ?? '')?.[1];
    if (kib) peak = Math.max(peak ?? 0, Number(kib) * 1024);
  }
  return peak;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined; // the process ended meanwhile
  }
}

function peakRow(name: string, bytes: number | undefined, note?: string): BenchRow {
  if (bytes === undefined) return { name, value: 0, unit: 'MiB', note: 'not measured: no /proc on this system' };
  return { name: `${name} (renderer VmHWM)`, value: bytes / MIB, unit: 'MiB', ...(note ? { note } : {}) };
}

interface Line {
  slope: number;
  intercept: number;
  at(x: number): number;
}

function fitLine(points: ReadonlyArray<[number, number]>): Line {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  return { slope, intercept, at: (x) => intercept + slope * x };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => Math.round(bytes / MIB);
