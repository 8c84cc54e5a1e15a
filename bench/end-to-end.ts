/**
 * Issue 16's speed targets, measured as a user meets them: `medparse segment` on a DICOM series, run
 * as a fresh process (model load and the networks' first run included), with its wall time, the stage
 * times from its report.json and the process's peak resident memory. The series are generated (no real
 * DICOM CT is in ../shared): a CT phantom at the chest CT's size and a cine-sized short-axis stack,
 * and, where ../shared is beside the repository, a real cine stack (MS-CMRSeg) written as a series, asked
 * for the heart and, as `medparse recognize`, for everything the model knows (which the 1 mm brain
 * networks' `max_slice_mm` keeps from running on its 8 mm slices).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePhantomCt } from '../src/core/phantom.js';
import { readVolume } from '../src/io/read.js';
import { DEFAULT_MODEL_DIR, PACKAGE_ROOT } from '../src/core/paths.js';
import type { Volume } from '../src/core/volume.js';
import { sharedDir } from '../test/helpers/shared.js';
import { writeSeries } from '../test/io/dicom/make-series.js';
import type { BenchRow } from './run.js';
import { BenchSkipped } from './run.js';

interface EndToEndCase {
  label: string;
  /** `segment -p prompts` unless `recognize` (no prompts). */
  task?: 'recognize';
  modality: 'CT' | 'MR';
  dims: [number, number, number];
  spacing: [number, number, number];
  prompts: string;
  targetSeconds?: number;
  /** A real scan whose voxels the series holds (else the phantom's). */
  source?: string;
}

const CASES: EndToEndCase[] = [
  {
    label: 'CT DICOM 512x512x134, 0.7x0.7x2.5 mm, 3 prompts',
    modality: 'CT',
    dims: [512, 512, 134],
    spacing: [0.7, 0.7, 2.5],
    prompts: 'liver, spleen, kidneys',
    targetSeconds: 15,
  },
  {
    label: 'cine MR DICOM 256x256x10, 1.4x1.4x10 mm, 3 prompts',
    modality: 'MR',
    dims: [256, 256, 10],
    spacing: [1.4, 1.4, 10],
    prompts: 'left ventricle, right ventricle, myocardium',
    targetSeconds: 8,
  },
];

/** A real cine stack with a heart in it: the focused pass's window count depends on what it finds. */
function realCineCases(): EndToEndCase[] {
  const shared = sharedDir();
  if (!shared) return [];
  const source = join(shared, 'data', 'mscmr_bssfp', 'mscmr_05_img.nii.gz');
  if (!existsSync(source)) return [];
  const stack: Pick<EndToEndCase, 'modality' | 'dims' | 'spacing' | 'source'> = {
    modality: 'MR',
    dims: [256, 256, 13],
    spacing: [1.25, 1.25, 8],
    source,
  };
  return [
    {
      ...stack,
      label: 'real cine MR (MS-CMRSeg 05) as DICOM 256x256x13, 1.25x1.25x8 mm, 3 prompts',
      prompts: 'left ventricle, right ventricle, myocardium',
      targetSeconds: 8,
    },
    {
      ...stack,
      label: 'real cine MR (MS-CMRSeg 05) as DICOM 256x256x13, 1.25x1.25x8 mm, everything the model knows',
      task: 'recognize',
      prompts: '',
    },
  ];
}

/** Peak memory limit of issue 16 for the chest CT, in MiB. */
const MEMORY_TARGET_MIB = 3 * 1024;

export async function benchEndToEnd(): Promise<BenchRow[]> {
  if (!existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) throw new BenchSkipped('the shipped model is not here');
  const scratch = mkdtempSync(join(tmpdir(), 'medparse-bench-e2e-'));
  const rows: BenchRow[] = [];
  try {
    for (const [n, c] of [...CASES, ...realCineCases()].entries()) {
      const series = join(scratch, `series-${n}`);
      await writeCase(series, c);
      rows.push(...(await timeCli(c, series, join(scratch, `out-${n}`))));
    }
    return rows;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function writeCase(folder: string, c: EndToEndCase): Promise<void> {
  // phantom intensities stand in for the MR stack too: only time and memory are of interest there
  const voxels = c.source ? await readVolume(c.source) : makePhantomCt({ dims: c.dims, spacing: c.spacing });
  if (voxels.dims.join() !== c.dims.join())
    throw new Error(`${c.source} is ${voxels.dims.join('x')}, not ${c.dims.join('x')}`);
  await writeSeries(folder, {
    columns: c.dims[0],
    rows: c.dims[1],
    slices: c.dims[2],
    pixelSpacing: [c.spacing[1], c.spacing[0]],
    sliceSpacing: c.spacing[2],
    modality: c.modality,
    rescaleIntercept: c.modality === 'CT' ? -1024 : 0,
    voxel: c.source ? realVoxel(voxels) : phantomVoxel(voxels, c.modality),
  });
}

/** The phantom's HU (CT) or a positive MR-like value; stored values must stay within 16 bits. */
function phantomVoxel(phantom: Volume, modality: 'CT' | 'MR'): (i: number, j: number, k: number) => number {
  const [nx, ny] = phantom.dims;
  const data = phantom.data;
  return (i, j, k) => {
    const value = Number(data[i + nx * (j + ny * k)]);
    return modality === 'CT' ? Math.max(-1024, value) : Math.max(0, value + 1000);
  };
}

/** A real MR's value, rounded to the 16-bit stored value. */
function realVoxel(volume: Volume): (i: number, j: number, k: number) => number {
  const [nx, ny] = volume.dims;
  return (i, j, k) => Math.max(0, Math.min(65535, Math.round(Number(volume.data[i + nx * (j + ny * k)]))));
}

async function timeCli(c: EndToEndCase, series: string, out: string): Promise<BenchRow[]> {
  const rssFile = `${out}.rss`;
  const cli = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');
  const peakHook = join(PACKAGE_ROOT, 'dist', 'bench', 'peak-memory-hook.js');
  const task = c.task === 'recognize' ? ['recognize', series] : ['segment', series, '-p', c.prompts];
  const args = ['--import', peakHook, cli, ...task, '-o', out, '--threads', '2', '--quiet'];
  const start = performance.now();
  const code = await run(process.execPath, args, { MEDPARSE_BENCH_PEAK_FILE: rssFile });
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`medparse ${task[0]} exited ${code} on ${c.label}`);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    timings_ms: Record<string, number>;
    prompts: Array<{ status: string }>;
  };
  const peakMiB = Number(readFileSync(rssFile, 'utf8')) / 1024;
  const prefix = `medparse ${task[0]}, ${c.label}`;
  return [
    {
      name: `${prefix}: wall`,
      value: seconds,
      unit: 's',
      ...(c.targetSeconds ? { note: `target under ${c.targetSeconds} s` } : {}),
    },
    ...Object.entries(report.timings_ms).map(([stage, ms]) => ({
      name: `${prefix}: ${stage}`,
      value: ms / 1000,
      unit: 's',
    })),
    {
      name: `${prefix}: peak resident memory`,
      value: peakMiB,
      unit: 'MiB',
      note: `target under ${MEMORY_TARGET_MIB} MiB`,
    },
    {
      name: `${prefix}: prompts answered present or absent`,
      value: report.prompts.filter((p) => p.status === 'present' || p.status === 'absent').length,
      unit: 'count',
    },
  ];
}

function run(command: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
