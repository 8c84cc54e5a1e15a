import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePhantomCt } from '../src/core/phantom.js';
import type { Volume } from '../src/core/volume.js';
import { readVolume } from '../src/io/read.js';
import { writeNifti } from '../src/io/write-nifti.js';
import { DEFAULT_MODEL_DIR, ParseEngine } from '../src/tasks/engine.js';
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

/**
 * End-to-end time of `medparse segment` on a 512x512x300 CT-like volume (read a .nii.gz, parse,
 * write the results folder) with 1, 5 and 20 prompts, per stage; with the shipped model when it is
 * installed, and with a closed-form network that measures the engine's own overhead.
 */
export async function benchEngine(): Promise<BenchRow[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'medparse-bench-engine-'));
  const rows: BenchRow[] = [];
  try {
    const input = join(scratch, 'ct.nii.gz');
    await writeNifti(input, makePhantomCt({ dims: [512, 512, 300], spacing: [0.8, 0.8, 1.5] }), {
      compressionLevel: 1,
    });
    const models: Array<[string, string]> = [
      ['closed-form 3 mm network', writeTestModel(join(scratch, 'model'), [3, 3, 3])],
    ];
    if (existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) models.unshift(['shipped model', DEFAULT_MODEL_DIR]);
    for (const [label, dir] of models) {
      const engine = ParseEngine.load(dir, { threads: 2 });
      try {
        for (const count of [1, 5, 20])
          rows.push(...(await timeRequest(engine, label, input, count, join(scratch, `out-${count}`))));
      } finally {
        await engine.dispose();
      }
    }
    rows.push({ name: 'peak resident memory', value: process.resourceUsage().maxRSS / 1024, unit: 'MiB' });
    return rows;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function timeRequest(
  engine: ParseEngine,
  label: string,
  input: string,
  count: number,
  out: string,
): Promise<BenchRow[]> {
  const prefix = `${label}, ${count} prompt${count === 1 ? '' : 's'}`;
  const start = performance.now();
  const volume = await readVolume(input);
  const read = performance.now() - start;
  const result = await engine.segment(volume, PROMPTS_20.slice(0, count).join(', '), { modality: 'CT' });
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
