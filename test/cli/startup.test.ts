/**
 * The CLI starts without its heavy dependencies: --version, --help and a usage error load commander and
 * medparse's own modules only; onnxruntime-node, the DICOM codecs, fastify and BullMQ load when a command
 * that needs them runs. Checked on real processes, by the modules they load (no timing).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageOf, runRecorded } from '../helpers/loaded-modules.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { withTempDir } from '../helpers/volumes.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

/** The only npm package the CLI needs before a command runs: its argument parser. */
const STARTUP_PACKAGES = ['commander'];

describe('CLI startup loads no heavy dependency', () => {
  it('names packages from module URLs', () => {
    assert.equal(packageOf('file:///r/node_modules/onnxruntime-node/dist/index.js'), 'onnxruntime-node');
    assert.equal(packageOf('file:///r/node_modules/@fastify/cors/index.js'), '@fastify/cors');
    assert.equal(packageOf('file:///r/node_modules/a/node_modules/b/x.js'), 'b');
    assert.equal(packageOf('file:///r/dist/src/cli/main.js'), undefined);
    assert.equal(packageOf('node:fs'), undefined);
  });

  const cases: Array<{ args: string[]; status: number; output: RegExp }> = [
    { args: ['--version'], status: 0, output: /^\d+\.\d+\.\d+\n$/ },
    { args: ['--help'], status: 0, output: /Usage: medparse/ },
    { args: ['help', 'segment'], status: 0, output: /--memory-limit-gb/ },
    // refused before anything is read: a usage error answers as fast as --help
    { args: ['segment', '--demo', '-o', 'out'], status: 2, output: /segment needs prompts/ },
  ];
  for (const { args, status, output } of cases) {
    it(`medparse ${args.join(' ')} loads ${STARTUP_PACKAGES.join(', ')} only`, () =>
      withTempDir(async (dir) => {
        const run = runRecorded(CLI, args, dir);
        assert.equal(run.status, status, run.stderr);
        assert.match(status === 0 ? run.stdout : run.stderr, output);
        assert.deepEqual(run.packages, STARTUP_PACKAGES);
      }));
  }

  it('loads the engine once a parse runs (the recorder sees what is imported lazily)', () =>
    withTempDir(async (dir) => {
      const args = ['segment', '--demo', '-p', 'liver', '-o', join(dir, 'out'), '--model', join(dir, 'no-model')];
      const run = runRecorded(CLI, args, dir);
      assert.equal(run.status, 1, run.stderr);
      assert.ok(run.packages.includes('onnxruntime-node'), run.packages.join(', '));
    }));
});
