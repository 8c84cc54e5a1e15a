/**
 * Which modules a Node process loads, recorded by module-recorder.ts (passed to it with --import): for
 * tests and benchmarks that check the CLI starts without its heavy dependencies.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './shared.js';

const RECORDER = join(REPO_ROOT, 'dist/test/helpers/module-recorder.js');

export interface RecordedRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** URLs of the files the process loaded (node: built-ins left out), each once. */
  modules: string[];
  /** npm packages (names, sorted) it loaded a module of. */
  packages: string[];
}

/** "file:///x/node_modules/@scope/name/dist/a.js" -> "@scope/name"; undefined outside node_modules. */
export function packageOf(url: string): string | undefined {
  const inside = url.split('/node_modules/').at(-1);
  if (inside === undefined || inside === url) return undefined;
  const [first, second] = inside.split('/');
  return first?.startsWith('@') ? `${first}/${second}` : first;
}

/** Runs `node <script> ...args` in dir (which also holds the record) and reads what it loaded. */
export function runRecorded(script: string, args: string[], dir: string): RecordedRun {
  const record = join(dir, 'loaded-modules.txt');
  const run = spawnSync(process.execPath, ['--import', RECORDER, script, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, MEDPARSE_TEST_MODULES_FILE: record },
  });
  const lines = readFileSync(record, 'utf8').split('\n');
  const modules = [...new Set(lines.filter((url) => url.startsWith('file:')))];
  const packages = [...new Set(modules.map(packageOf).filter((name) => name !== undefined))].sort();
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, modules, packages };
}
