/**
 * The CLI's side of issue 17: unusable -o refused before inference, the input never overwritten,
 * --threads clamped, a closed pipe ending quietly, signals leaving no staging behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { makePhantomCt } from '../../src/core/phantom.js';
import { writeNifti } from '../../src/io/write-nifti.js';
import { writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s + '\n'), stderr: (s) => (err += s + '\n') });
  return { code, out, err };
}

describe('CLI safety', () => {
  let model: string;
  before(() => {
    model = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
  });
  after(() => rmSync(model, { recursive: true, force: true }));

  it('an input named labels.nii.gz inside -o is never overwritten by its own result', () =>
    withTempDir(async (dir) => {
      const input = join(dir, 'labels.nii.gz');
      await writeNifti(input, makePhantomCt());
      const before = readFileSync(input);
      for (const extra of [[], ['--force']]) {
        const r = await run(['segment', input, '-p', 'kidney', '-o', dir, '--model', model, '--quiet', ...extra]);
        assert.equal(r.code, 1, r.err);
        assert.match(r.err, /labels\.nii\.gz/);
        assert.ok(!r.err.includes('internal error'), r.err);
      }
      assert.deepEqual(readFileSync(input), before);
    }));

  it('an existing file as -o is refused before any inference, in one line', () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'out'), 'x');
      const r = await run(['segment', '--demo', '-p', 'kidney', '-o', join(dir, 'out'), '--model', model]);
      assert.equal(r.code, 1);
      assert.match(r.err, /existing file, not a folder/);
      assert.ok(!/inference|read /.test(r.err), `no progress before the refusal: ${r.err}`);
    }));

  it('--threads beyond the cores is clamped with a note; a malformed count is wrong usage', () =>
    withTempDir(async (dir) => {
      const r = await run([
        'segment',
        '--demo',
        '-p',
        'kidney',
        '-o',
        dir,
        '--model',
        model,
        '--quiet',
        '--threads',
        '1000',
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, new RegExp(`--threads 1000 is more than this machine's ${availableParallelism()} cores`));
      const bad = await run(['segment', '--demo', '-p', 'kidney', '-o', join(dir, 'x'), '--threads', '2.5']);
      assert.equal(bad.code, 2);
    }));

  it('`medparse vocab list | head` ends quietly when the reader closes the pipe', async () => {
    const child = spawn(process.execPath, [MAIN, 'vocab', 'list'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => (err += String(chunk)));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(err, '', 'no stack trace');
    assert.equal(code, 0);
  });

  it('SIGINT during a run leaves neither staging nor lock, and no partial result', () =>
    withTempDir(async (dir) => {
      const out = join(dir, 'out');
      const child = spawn(process.execPath, [MAIN, 'segment', '--demo', '-p', 'kidney', '-o', out, '--model', model], {
        stdio: 'ignore',
      });
      const lock = join(dir, '.out.medparse-lock');
      for (let i = 0; i < 600 && !existsSync(lock) && child.exitCode === null; i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.deepEqual(
        readdirSync(dir).filter((name) => name !== 'out'),
        [],
        'no staging or lock beside the folder',
      );
      if (code === 130) assert.ok(!existsSync(join(out, 'report.json')), 'an interrupted run leaves no report');
      else assert.equal(code, 0, 'the run had finished before the signal: then it is complete');
    }));
});
