import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/shared.js';

/** Runs a built npm script (dist/scripts/<name>.js) with these arguments. */
function runScript(name: string, args: string[]) {
  return spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'scripts', `${name}.js`), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('npm run eval / calibrate arguments', () => {
  for (const script of ['eval', 'calibrate']) {
    it(`${script} --help prints its usage and exits 0`, () => {
      const run = runScript(script, ['--help']);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^usage: npm run ${script} -- `));
    });

    it(`${script} names an unknown option in one line, with the usage, and exits 2`, () => {
      const run = runScript(script, ['--bogus']);
      assert.equal(run.status, 2);
      assert.match(run.stderr.split('\n')[0], new RegExp(`^${script}: Unknown option '--bogus'`));
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    });
  }
});
