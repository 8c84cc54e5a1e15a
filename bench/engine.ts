import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePhantomCt } from '../src/core/phantom.js';
import type { Volume } from '../src/core/volume.js';
import { readVolume } from '../src/io/read.js';
import { writeNifti } from '../src/io/write-nifti.js';
import { DEFAULT_MODEL_DIR } from '../src/core/paths.js';
import { ParseEngine } from '../src/tasks/engine.js';
import { writeResults } from '../src/tasks/output-folder.js';
import type { ParseResult } from '../src/tasks/results.js';
import { writeTestModel } from '../test/helpers/test-model.js';
import type { BenchRow } from './run.js';

const PROMPTS_20 = [
  'kidney',
  'vertebral column',
  'brain',
  'left kidney',
  'right kidney',
  'liver',
  'spleen',
  'pancreas',
  'aorta',
  'IVC',
  'stomach',
  'gallbladder',
  'esophagus',
  'heart',
  'lung',
  'bladder',
  'prostate',
  'L3',
  'T12',
  'duodenum',
];

type Request = (volume: Volume) => Promise<ParseResult>;

/**
 * End-to-end time of `medparse segment` (read a .nii.gz, parse, write the results folder) with 1, 5
 * and 20 prompts, per stage: a closed-form 3 mm network on a 512x512x300 CT-like volume measures
 * the engine's own overhead; the shipped networks are timed on inputs of the size they are made for
 * (that CT, a 1 mm brain, a short-axis cardiac stack).
 */
export async function benchEngine(): Promise<BenchRow[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'medparse-bench-engine-'));
  const rows: BenchRow[] = [];
  try {
    const input = join(scratch, 'ct.nii.gz');
    await writeNifti(input, makePhantomCt({ dims: [512, 512, 300], spacing: [0.8, 0.8, 1.5] }), {
      compressionLevel: 1,
    });
    const engine = ParseEngine.load(writeTestModel(join(scratch, 'model'), [3, 3, 3]), { threads: 2 });
    try {
      for (const count of [1, 5, 20]) {
        const request: Request = (v) => engine.segment(v, PROMPTS_20.slice(0, count).join(', '), { modality: 'CT' });
        rows.push(
          ...(await timeRequest(
            engine,
            `closed-form 3 mm network, ${count} prompt(s)`,
            input,
            request,
            join(scratch, `out-${count}`),
          )),
        );
      }
    } finally {
      await engine.dispose();
    }
    if (existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) rows.push(...(await benchShippedModel(scratch, input)));
    rows.push({ name: 'peak resident memory', value: process.resourceUsage().maxRSS / 1024, unit: 'MiB' });
    return rows;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The shipped networks on inputs of the size they are made for; `ctInput` is the 512x512x300 CT. */
async function benchShippedModel(scratch: string, ctInput: string): Promise<BenchRow[]> {
  const engine = ParseEngine.load(DEFAULT_MODEL_DIR, { threads: 2 });
  const inputs: Array<{
    label: string;
    network: string;
    modality: 'CT' | 'MR';
    dims: [number, number, number];
    spacing: [number, number, number];
    path?: string;
  }> = [
    {
      label: 'CT 512x512x300, 0.8x0.8x1.5 mm',
      network: 'body-ct',
      modality: 'CT',
      dims: [512, 512, 300],
      spacing: [0.8, 0.8, 1.5],
      path: ctInput,
    },
    {
      // the size of issue 16's chest CT (512x512x134 DICOM, 3 prompts: 30.5 s with model 0.4.x)
      label: 'CT 512x512x134, 0.7x0.7x2.5 mm',
      network: 'body-ct',
      modality: 'CT',
      dims: [512, 512, 134],
      spacing: [0.7, 0.7, 2.5],
    },
    {
      label: 'cardiac MR 256x256x10, 1.5x1.5x10 mm',
      network: 'heart-mr',
      modality: 'MR',
      dims: [256, 256, 10],
      spacing: [1.5, 1.5, 10],
    },
    {
      label: 'brain MR 160x192x160, 1 mm',
      network: 'brain-mr',
      modality: 'MR',
      dims: [160, 192, 160],
      spacing: [1, 1, 1],
    },
  ];
  const rows: BenchRow[] = [];
  try {
    for (const { label, network: id, modality, dims, spacing, path: given } of inputs) {
      const network = engine.model.networks.find((n) => n.id === id);
      if (!network) continue;
      const path = given ?? join(scratch, `${id}.nii.gz`);
      // Phantom intensities stand in for an MR image: only the timing is of interest here.
      if (!given) await writeNifti(path, makePhantomCt({ dims, spacing }));
      // concepts the network answers first: a withheld one (on any kind of scan: these inputs are whole
      // scans) is answered "unsupported" without running anything
      const held = (c: (typeof network.concepts)[number]) => c.withheld !== undefined || c.withheldOn !== undefined;
      const ids = [...network.concepts.filter((c) => !held(c)), ...network.concepts.filter(held)].map((c) => c.id);
      for (const count of [1, 3, 5, 20].filter((n) => n <= ids.length || n === 1)) {
        const request: Request = (v) => engine.segmentConcepts(v, ids.slice(0, count), { modality });
        rows.push(
          ...(await timeRequest(
            engine,
            `shipped ${id} on ${label}, ${count} concept(s)`,
            path,
            request,
            join(scratch, `${id}-${count}`),
          )),
        );
      }
    }
  } finally {
    await engine.dispose();
  }
  return rows;
}

async function timeRequest(
  engine: ParseEngine,
  prefix: string,
  input: string,
  request: Request,
  out: string,
): Promise<BenchRow[]> {
  const start = performance.now();
  const volume = await readVolume(input);
  const read = performance.now() - start;
  const result = await request(volume);
  const parsed = performance.now();
  await writeResults(out, result, engine.vocabulary, { task: 'segment', medparseVersion: 'bench', force: true });
  const end = performance.now();
  const answered = result.prompts.filter((p) => p.status === 'present' || p.status === 'absent').length;
  return [
    { name: `${prefix}: total`, value: (end - start) / 1000, unit: 's' },
    { name: `${prefix}: read`, value: read / 1000, unit: 's' },
    ...Object.entries(result.timings).map(([stage, ms]) => ({
      name: `${prefix}: ${stage}`,
      value: ms / 1000,
      unit: 's',
    })),
    { name: `${prefix}: write`, value: (end - parsed) / 1000, unit: 's' },
    { name: `${prefix}: prompts the model answered`, value: answered, unit: 'count' },
  ];
}
