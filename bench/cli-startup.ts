/**
 * How fast the CLI answers before any command runs: `medparse --version` and `--help` as fresh
 * processes, against `node -e 0` (Node's own start, which no change to medparse can remove), and how
 * many modules `--version` loads. Runs are interleaved so that a change in the machine's load falls on
 * all three alike; medians, as a loaded machine gives a long tail.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRecorded } from '../test/helpers/loaded-modules.js';
import type { BenchRow } from './run.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ROUNDS = 11;

const COMMANDS: Array<{ name: string; args: string[] }> = [
  { name: 'node -e 0 (Node alone)', args: ['-e', '0'] },
  { name: 'medparse --version', args: [CLI, '--version'] },
  { name: 'medparse --help', args: [CLI, '--help'] },
];

export async function benchCliStartup(): Promise<BenchRow[]> {
  const times = COMMANDS.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    COMMANDS.forEach(({ args }, i) => times[i].push(timeProcess(args)));
  }
  const medians = times.map(median);
  const [node, version] = medians as [number, number, number];
  return [
    ...COMMANDS.map(({ name }, i) => ({ name: `${name}, median of ${ROUNDS}`, value: medians[i], unit: 'ms' })),
    {
      name: 'medparse --version beyond Node alone',
      value: version - node,
      unit: 'ms',
      note: 'the part medparse can change',
    },
    ...moduleCounts(),
  ];
}

function timeProcess(args: string[]): number {
  const start = performance.now();
  const run = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}`);
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function moduleCounts(): BenchRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'medparse-bench-startup-'));
  try {
    const run = runRecorded(CLI, ['--version'], dir);
    return [
      { name: 'medparse --version: modules loaded', value: run.modules.length, unit: 'count' },
      {
        name: 'medparse --version: npm packages loaded',
        value: run.packages.length,
        unit: 'count',
        note: run.packages.join(', '),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
