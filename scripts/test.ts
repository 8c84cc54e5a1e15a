/**
 * npm test: the tests in two tiers, each timed. The fast tier needs nothing beside the repository; the
 * real-data tier holds the test files that read ../shared (they import sharedDir from
 * test/helpers/shared.ts, and skip with a message when it is absent). Both run; the exit code is
 * non-zero if either failed. `node dist/scripts/test.js fast` (npm run test:fast) or `real` runs one.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../src/core/paths.js';
import { sharedDir } from '../test/helpers/shared.js';

type Tier = 'fast' | 'real';

const TESTS = join(PACKAGE_ROOT, 'dist', 'test');
const USES_SHARED = /import\s*\{[^}]*\bsharedDir\b[^}]*\}\s*from\s*['"][./]*\/helpers\/shared\.js['"]/;

export function testFiles(dir: string = TESTS): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(path);
      return entry.name.endsWith('.test.js') ? [path] : [];
    })
    .sort();
}

export function tierOf(compiledTest: string): Tier {
  return USES_SHARED.test(readFileSync(compiledTest, 'utf8')) ? 'real' : 'fast';
}

function runTier(tier: Tier, files: string[]): boolean {
  const label = tier === 'fast' ? 'fast tier (no ../shared)' : 'real-data tier (../shared)';
  const note = tier === 'real' && !sharedDir() ? ': ../shared is absent, its tests skip' : '';
  console.log(`\n== ${label}: ${files.length} test files${note}`);
  // node --test with no files would run every test it finds
  if (files.length === 0) return true;
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const ok = run.status === 0;
  console.log(`== ${label}: ${ok ? 'passed' : 'FAILED'} in ${seconds} s`);
  return ok;
}

function main(): number {
  const wanted = process.argv[2];
  if (wanted !== undefined && wanted !== 'fast' && wanted !== 'real') {
    console.error(`usage: node dist/scripts/test.js [fast|real], got "${wanted}"`);
    return 2;
  }
  const files = testFiles(TESTS);
  const tiers: Tier[] = wanted ? [wanted] : ['fast', 'real'];
  const results = tiers.map((tier) =>
    runTier(
      tier,
      files.filter((f) => tierOf(f) === tier).map((f) => relative(process.cwd(), f)),
    ),
  );
  return results.every(Boolean) ? 0 : 1;
}

// imported by its test for tierOf; run as a script otherwise
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
