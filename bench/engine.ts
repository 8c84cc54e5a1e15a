import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePhantomCt } from '../src/core/phantom.js';
import { DEFAULT_MODEL_DIR, ParseEngine } from '../src/tasks/engine.js';
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
 * End-to-end engine time on a 512x512x300 CT-like volume with 1, 5 and 20 prompts, per stage, with
 * the shipped model when it is installed and with a closed-form network (engine overhead only).
 */
export async function benchEngine(): Promise<BenchRow[]> {
  const volume = makePhantomCt({ dims: [512, 512, 300], spacing: [0.8, 0.8, 1.5] });
  const rows: BenchRow[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'medparse-bench-model-'));
  try {
    const models: Array<[string, string]> = [['closed-form 3 mm network', writeTestModel(scratch, [3, 3, 3])]];
    if (existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) models.unshift(['shipped model', DEFAULT_MODEL_DIR]);
    for (const [label, dir] of models) {
      const engine = ParseEngine.load(dir, { threads: 2 });
      try {
        for (const count of [1, 5, 20]) {
          const prompts = PROMPTS_20.slice(0, count).join(', ');
          const start = performance.now();
          const result = await engine.segment(volume, prompts, { modality: 'CT' });
          const total = performance.now() - start;
          rows.push({ name: `${label}: ${count} prompt(s), total`, value: total / 1000, unit: 's' });
          for (const [stage, ms] of Object.entries(result.timings))
            rows.push({ name: `${label}: ${count} prompt(s), ${stage}`, value: ms / 1000, unit: 's' });
        }
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
