import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { makePhantomCt } from '../../src/core/phantom.js';
import { writeNifti } from '../../src/io/write-nifti.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { writeSeriesPerSlice } from '../io/dicom/make-series.js';
import { withTempDir } from '../helpers/volumes.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s + '\n'), stderr: (s) => (err += s + '\n') });
  return { code, out, err };
}

describe('medparse info', () => {
  it('prints the documented JSON fields for the built-in volume (as a real process)', () => {
    const out = execFileSync(process.execPath, [CLI, 'info', '--demo', '--json'], { encoding: 'utf8' });
    const info = JSON.parse(out);
    assert.deepEqual(info.dims, [128, 128, 64]);
    assert.deepEqual(info.spacing, [2.5, 2.5, 4]);
    assert.equal(info.orientation, 'LPS');
    assert.equal(info.dtype, 'int16');
    assert.equal(info.affine.length, 4);
    assert.equal(info.affine[0][0], -2.5);
    assert.equal(info.min < -950, true);
    assert.equal(info.max > 650, true);
  });

  it('describes a file written by convert identically to its source', () =>
    withTempDir(async (dir) => {
      const source = join(dir, 'ct.nii.gz');
      await writeNifti(source, makePhantomCt({ dims: [20, 16, 8] }));
      const target = join(dir, 'copy.nii');
      assert.equal((await run(['convert', source, target])).code, 0);
      const a = JSON.parse((await run(['info', source, '--json'])).out);
      const b = JSON.parse((await run(['info', target, '--json'])).out);
      assert.deepEqual({ ...b, description: undefined }, { ...a, description: undefined });
    }));

  it('says when a volume was read from a series per slice position', () =>
    withTempDir(async (dir) => {
      const cine = await writeSeriesPerSlice(dir, { orientation: 'oblique', modality: 'MR', slices: 3, timePoints: 2 });
      const text = await run(['info', dir, '--volume', '1']);
      assert.equal(text.code, 0, text.err);
      assert.match(text.out, new RegExp(`series +${cine.seriesUids[0]} \\(3 slices; 3 series, one per slice position`));
      assert.match(text.out, /volume +1 of 2/);
    }));
});

describe('CLI errors are one clear line and a non-zero exit code', () => {
  it('a missing file', async () => {
    const r = spawnSync(process.execPath, [CLI, 'info', '/no/such/scan.nii.gz'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'medparse: /no/such/scan.nii.gz: no such file or folder; check the path');
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  });

  it('an unknown command and an unknown option', async () => {
    assert.equal((await run(['segmnt'])).code, 2);
    const r = await run(['info', '--demo', '--colour']);
    assert.equal(r.code, 2);
    assert.match(r.err, /usage: medparse info/);
  });

  it('convert refuses to overwrite the input or an existing file', () =>
    withTempDir(async (dir) => {
      const source = join(dir, 'ct.nii.gz');
      await writeNifti(source, makePhantomCt({ dims: [8, 8, 4] }));
      const before = readFileSync(source);
      const same = await run(['convert', source, source]);
      assert.equal(same.code, 1);
      assert.match(same.err, /input file itself/);
      const existing = join(dir, 'existing.nii.gz');
      writeFileSync(existing, 'keep me');
      const clash = await run(['convert', source, existing]);
      assert.equal(clash.code, 1);
      assert.match(clash.err, /--force/);
      assert.equal(readFileSync(existing, 'utf8'), 'keep me');
      assert.deepEqual(readFileSync(source), before);
    }));

  it('convert to a format it does not write is a usage error that writes nothing', () =>
    withTempDir(async (dir) => {
      const r = await run(['convert', 'in.nii', join(dir, 'out.mha')]);
      assert.equal(r.code, 2);
      assert.equal(existsSync(join(dir, 'out.mha')), false);
    }));
});
