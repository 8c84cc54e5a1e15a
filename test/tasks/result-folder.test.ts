/**
 * The results folder never replaces what medparse did not write, appears whole or not at all, and
 * refuses unusable or contended folders before any work.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MedparseError } from '../../src/core/errors.js';
import { MANIFEST_NAME, OutputFolder, sha256OfFile } from '../../src/tasks/result-folder.js';
import { withTempDir } from '../helpers/volumes.js';

/** Opens `dir`, stages `files` (name -> content) and commits them. */
function run(dir: string, files: Record<string, string>, options: { force?: boolean; inputs?: string[] } = {}) {
  const folder = OutputFolder.open(dir, options);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(folder.staging(), name), content);
  return folder.commit();
}

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MedparseError, String(error));
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'));
    return true;
  });
}

const leftovers = (parent: string) => readdirSync(parent).filter((n) => n.includes('.medparse-'));

describe('a run never replaces a file it did not write', () => {
  it('writes the result and a manifest with each file sha256', () =>
    withTempDir(async (root) => {
      const dir = join(root, 'out');
      const written = run(dir, { 'liver.nii.gz': 'mask', 'report.json': '{}' });
      assert.deepEqual(written, ['liver.nii.gz', 'report.json']);
      const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_NAME), 'utf8'));
      assert.deepEqual(manifest.files['liver.nii.gz'], [sha256OfFile(join(dir, 'liver.nii.gz'))]);
      assert.equal(manifest.complete, true);
      assert.deepEqual(leftovers(root), [], 'no staging or lock left');
    }));

  it('without --force a user file named like a fixed output is refused before any work, naming it', () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'labels.json'), 'my labels');
      refused(() => OutputFolder.open(dir), /labels\.json is in the output folder but not medparse's own/);
      refused(() => OutputFolder.open(dir, { force: true }), /never replaces such files, even with --force/);
      assert.equal(readFileSync(join(dir, 'labels.json'), 'utf8'), 'my labels');
    }));

  it("a user file named like a concept's mask is refused at commit and nothing is moved in", () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'liver.nii.gz'), 'my ground truth');
      refused(() => run(dir, { 'liver.nii.gz': 'mask', 'report.json': '{}' }), /liver\.nii\.gz is in the output/);
      assert.equal(readFileSync(join(dir, 'liver.nii.gz'), 'utf8'), 'my ground truth');
      assert.ok(!existsSync(join(dir, 'report.json')));
    }));

  it('--force replaces and removes only files the manifest lists with their current hash', () =>
    withTempDir(async (root) => {
      const dir = join(root, 'out');
      run(dir, { 'kidney.nii.gz': 'old kidney', 'spleen.nii.gz': 'old spleen', 'report.json': '{"a":1}' });
      writeFileSync(join(dir, 'spleen.nii.gz'), 'edited by the user since');
      writeFileSync(join(dir, 'notes.txt'), 'mine');
      refused(() => run(dir, { 'report.json': '{}' }), /--force/);
      run(dir, { 'liver.nii.gz': 'new', 'report.json': '{"b":2}' }, { force: true });
      assert.ok(!existsSync(join(dir, 'kidney.nii.gz')), "the earlier run's unchanged leftover goes");
      assert.equal(readFileSync(join(dir, 'spleen.nii.gz'), 'utf8'), 'edited by the user since');
      assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
      assert.equal(readFileSync(join(dir, 'report.json'), 'utf8'), '{"b":2}');
    }));

  it('a planted report.json or manifest listing the scan does not get it deleted by --force', () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'scan.nii.gz'), 'the patient scan');
      const planted = { files: { scan: 'scan.nii.gz' }, prompts: [{ mask_file: 'scan.nii.gz' }] };
      writeFileSync(join(dir, 'report.json'), JSON.stringify(planted));
      refused(() => run(dir, { 'report.json': '{}' }, { force: true }), /report\.json is in the output folder/);
      unlinkSync(join(dir, 'report.json'));
      const manifest = { schema: 'medparse-manifest/1', complete: true, files: { 'scan.nii.gz': ['0'.repeat(64)] } };
      writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify(manifest));
      run(dir, { 'report.json': '{}' }, { force: true });
      assert.equal(readFileSync(join(dir, 'scan.nii.gz'), 'utf8'), 'the patient scan');
    }));

  it('an input named labels.nii.gz inside -o is never overwritten by its own result, even if a manifest vouches for it', () =>
    withTempDir(async (dir) => {
      const input = join(dir, 'labels.nii.gz');
      writeFileSync(input, 'the input image');
      const manifest = {
        schema: 'medparse-manifest/1',
        complete: true,
        files: { 'labels.nii.gz': [sha256OfFile(input)] },
      };
      writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify(manifest));
      refused(() => OutputFolder.open(dir, { force: true, inputs: [input] }), /labels\.nii\.gz/);
      assert.equal(readFileSync(input, 'utf8'), 'the input image');
    }));
});

describe('-o is checked before any inference', () => {
  it('an existing file is refused', () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'file'), 'x');
      refused(() => OutputFolder.open(join(dir, 'file')), /existing file, not a folder/);
    }));
  it('the input itself, or a folder inside the input folder, is refused', () =>
    withTempDir(async (dir) => {
      mkdirSync(join(dir, 'dicom'));
      refused(() => OutputFolder.open(join(dir, 'dicom'), { inputs: [join(dir, 'dicom')] }), /is the input itself/);
      refused(() => OutputFolder.open(join(dir, 'dicom', 'out'), { inputs: [join(dir, 'dicom')] }), /inside the input/);
    }));
  it('a folder that cannot be created is refused', () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'file'), 'x');
      refused(() => OutputFolder.open(join(dir, 'file', 'out')), /cannot create|not writable/);
    }));
  it('a read-only folder is refused', { skip: process.getuid?.() === 0 && 'root writes anywhere' }, () =>
    withTempDir(async (dir) => {
      mkdirSync(join(dir, 'ro'), { mode: 0o555 });
      refused(() => OutputFolder.open(join(dir, 'ro')), /not writable/);
    }),
  );
});

describe('concurrent and killed runs', () => {
  it('a second run into a locked folder is refused with a clear message; after release it may go', () =>
    withTempDir(async (root) => {
      const dir = join(root, 'out');
      const first = OutputFolder.open(dir);
      refused(() => OutputFolder.open(dir), /another medparse run \(pid \d+\) is writing into this folder/);
      first.release();
      OutputFolder.open(dir).release();
    }));

  it('the lock of a dead process is taken over', () =>
    withTempDir(async (root) => {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
      writeFileSync(join(root, '.out.medparse-lock'), `${dead}\n`);
      run(join(root, 'out'), { 'report.json': '{}' });
      assert.ok(existsSync(join(root, 'out', 'report.json')));
    }));

  it('staging left by a killed run is removed by the next run; a folder caught mid-swap is restored', () =>
    withTempDir(async (root) => {
      run(join(root, 'out'), { 'report.json': 'the earlier results' });
      renameSync(join(root, 'out'), join(root, '.out.medparse-old-999999-0badf00d'));
      mkdirSync(join(root, '.out.medparse-staging-999999-0badf00d'));
      writeFileSync(join(root, '.out.medparse-staging-999999-0badf00d', 'report.json'), 'half');
      OutputFolder.open(join(root, 'out'), { force: true }).release();
      assert.deepEqual(leftovers(root), []);
      assert.equal(readFileSync(join(root, 'out', 'report.json'), 'utf8'), 'the earlier results');
    }));

  it('release() (what SIGINT/SIGTERM call) removes the staging folder and the lock, moving nothing in', () =>
    withTempDir(async (root) => {
      const folder = OutputFolder.open(join(root, 'out'));
      writeFileSync(join(folder.staging(), 'report.json'), '{}');
      folder.release();
      assert.deepEqual(leftovers(root), []);
      assert.ok(!existsSync(join(root, 'out')));
    }));

  it('a folder of only medparse files is swapped whole: no file of the earlier run survives', () =>
    withTempDir(async (root) => {
      const dir = join(root, 'out');
      run(dir, { 'kidney.nii.gz': 'k', 'report.json': '{"run":1}' });
      run(dir, { 'liver.nii.gz': 'l', 'report.json': '{"run":2}' }, { force: true });
      assert.deepEqual(readdirSync(dir).sort(), [MANIFEST_NAME, 'liver.nii.gz', 'report.json']);
      assert.deepEqual(leftovers(root), []);
    }));
});
