import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { readVolume } from '../../src/io/read.js';
import { readReport } from '../../src/tasks/report.js';
import { editModelManifest, writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s + '\n'), stderr: (s) => (err += s + '\n') });
  return { code, out, err };
}

describe('medparse segment / detect / recognize', () => {
  let model: string;
  before(() => {
    model = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
  });
  after(() => rmSync(model, { recursive: true, force: true }));
  /** `medparse segment --demo` with the test model: each prompt its own -p, the output folder, extra flags. */
  const segmentDemo = (prompts: string[], output: string, ...extra: string[]) =>
    run(['segment', '--demo', ...prompts.flatMap((p) => ['-p', p]), '-o', output, '--model', model, ...extra]);

  it('segment asks every prompt of a repeated -p, in order', () =>
    withTempDir(async (dir) => {
      const r = await segmentDemo(['kidneys', 'spine, liver'], dir, '--quiet');
      assert.equal(r.code, 0, r.err);
      const report = readReport(dir);
      assert.deepEqual(
        report.prompts.map((p) => p.text),
        ['kidneys', 'spine', 'liver'],
      );
    }));

  it('recognize refuses prompts instead of ignoring them', async () => {
    const r = await run(['recognize', '--demo', '-p', 'liver', '-o', join(tmpdir(), 'never-written'), '--quiet']);
    assert.equal(r.code, 2, r.out);
    assert.match(r.err, /takes no prompts: use segment -p/);
  });

  it('segment writes masks, labels, preview and a report on the input grid', () =>
    withTempDir(async (dir) => {
      const r = await segmentDemo(['kidneys, spine, brain, liver, banana'], dir, '--quiet');
      assert.equal(r.code, 0, r.err);
      const files = readdirSync(dir).sort();
      for (const f of [
        'report.json',
        'labels.nii.gz',
        'labels.json',
        'preview.png',
        'kidney.nii.gz',
        'vertebral_column.nii.gz',
      ])
        assert.ok(files.includes(f), `${f} in ${files}`);
      assert.ok(!files.some((f) => f.startsWith('.medparse-staging')), 'no staging left');
      const report = readReport(dir);
      const byText = Object.fromEntries(report.prompts.map((p) => [p.text, p]));
      assert.deepEqual(
        report.prompts.map((p) => p.status),
        ['present', 'present', 'absent', 'unsupported', 'unknown'],
      );
      assert.equal(byText.kidneys.mask_file, 'kidney.nii.gz');
      assert.equal(byText.kidneys.statistics?.intensity?.unit, 'HU');
      assert.equal(byText.brain.mask_file, null);
      assert.ok(byText.banana.suggestions !== undefined);
      const labels = await readVolume(join(dir, 'labels.nii.gz'));
      assert.deepEqual(labels.dims, [128, 128, 64]);
      const values = new Set(labels.data);
      assert.deepEqual([...values].sort(), [0, byText.kidneys.label_value, byText.spine.label_value].sort());
      assert.equal(readFileSync(join(dir, 'preview.png')).subarray(1, 4).toString(), 'PNG');
      // --quiet holds back progress, not the answers
      assert.ok(
        r.out.split('\n').some((line) => line.startsWith('  "kidneys": present')),
        r.out,
      );
    }));

  it("prints a present answer's notes under its line, and the words the parser dropped", () =>
    withTempDir(async (dir) => {
      const r = await segmentDemo(['right kidney', 'left kidney lesions'], dir, '--quiet');
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split('\n');
      const right = lines.findIndex((line) => line.startsWith('  "right kidney": present'));
      assert.ok(right >= 0, r.out);
      assert.match(lines[right + 1], /^ {4}note: right kidney is the right side \(in world coordinates\)/);
      const lesions = lines.find((line) => line.startsWith('  "left kidney lesions"'));
      assert.match(lesions ?? '', /"left" ignored: kidney lesion has no left variant/, r.out);
    }));

  it('detect prints instances; recognize reports what the model finds', () =>
    withTempDir(async (dir) => {
      const d = await run(['detect', '--demo', '-p', 'kidney', '-o', join(dir, 'd'), '--model', model, '--quiet']);
      assert.equal(d.code, 0, d.err);
      assert.match(d.out, /#1 .* mL/);
      assert.match(d.out, /#2 .* mL/);
      const r = await run(['recognize', '--demo', '-o', join(dir, 'r'), '--model', model, '--quiet', '--json']);
      assert.equal(r.code, 0, r.err);
      const report = JSON.parse(r.out);
      const present = report.prompts
        .filter((p: { status: string }) => p.status === 'present')
        .map((p: { concept: { id: string } }) => p.concept.id);
      assert.deepEqual(present.sort(), ['kidney', 'vertebral_column']);
    }));

  it('writes DICOM SEG on request', () =>
    withTempDir(async (dir) => {
      const r = await segmentDemo(['kidney'], dir, '--quiet', '--dicom-seg', '--no-preview');
      assert.equal(r.code, 0, r.err);
      const seg = readFileSync(join(dir, 'segmentation.dcm'));
      assert.equal(seg.subarray(128, 132).toString(), 'DICM');
      assert.equal(existsSync(join(dir, 'preview.png')), false);
      const nothing = await segmentDemo(['brain'], join(dir, 'none'), '--quiet', '--dicom-seg');
      assert.equal(nothing.code, 0, nothing.err);
      assert.equal(existsSync(join(dir, 'none', 'segmentation.dcm')), false, 'no SEG without segments');
      assert.match(nothing.out, /absent/);
    }));

  it("--force replaces an earlier run's files, removing its masks this run has no answer for, and nothing else", () =>
    withTempDir(async (dir) => {
      const first = await segmentDemo(['kidney'], dir, '--quiet', '--dicom-seg');
      assert.equal(first.code, 0, first.err);
      assert.ok(existsSync(join(dir, 'kidney.nii.gz')) && existsSync(join(dir, 'segmentation.dcm')));
      writeFileSync(join(dir, 'my-notes.txt'), 'mine');
      writeFileSync(join(dir, 'liver.nii.gz'), 'a file of mine that the earlier report does not list');
      const second = await segmentDemo(['brain'], dir, '--quiet', '--force');
      assert.equal(second.code, 0, second.err);
      assert.match(second.out, /absent/);
      assert.equal(existsSync(join(dir, 'kidney.nii.gz')), false, 'a stale mask beside a report saying absent');
      assert.equal(existsSync(join(dir, 'segmentation.dcm')), false);
      assert.equal(readFileSync(join(dir, 'my-notes.txt'), 'utf8'), 'mine');
      assert.ok(existsSync(join(dir, 'liver.nii.gz')), 'files the earlier report did not list are left alone');
      assert.ok(existsSync(join(dir, 'labels.nii.gz')) && existsSync(join(dir, 'report.json')));
    }));

  it('refuses to overwrite results, and errors are clear', () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'report.json'), '{"mine": true}');
      const clash = await segmentDemo(['kidney'], dir, '--quiet');
      assert.equal(clash.code, 1);
      assert.match(clash.err, /--force/);
      assert.equal(readFileSync(join(dir, 'report.json'), 'utf8'), '{"mine": true}');
      const badDevice = await segmentDemo(['kidney'], join(dir, 'd'), '--device', 'gpu');
      assert.equal(badDevice.code, 2);
      assert.match(badDevice.err, /--device must be cpu \(this install's onnxruntime-node has no GPU provider\)/);
      const noPrompt = await run(['segment', '--demo', '-o', join(dir, 'x'), '--model', model]);
      assert.equal(noPrompt.code, 2);
      const noModel = await run([
        'segment',
        '--demo',
        '-p',
        'kidney',
        '-o',
        join(dir, 'y'),
        '--model',
        join(dir, 'nope'),
      ]);
      assert.equal(noModel.code, 1);
      assert.match(noModel.err, /no model package/);
      const tooBig = await segmentDemo(['kidney'], join(dir, 'm'), '--memory-limit-gb', '0.001');
      assert.equal(tooBig.code, 1);
      assert.match(tooBig.err, /needs about .* GB .* --memory-limit-gb/);
      const contradiction = await segmentDemo(['kidney'], join(dir, 'c'), '--modality', 'MR');
      assert.equal(contradiction.code, 1);
      assert.match(contradiction.err, /contradicts the file, which says CT/);
      const badModality = await segmentDemo(['kidney'], join(dir, 'z'), '--modality', 'XR');
      assert.equal(badModality.code, 1);
      assert.match(badModality.err, /CT or MR/);
    }));

  it('a broken model.json names the field', () =>
    withTempDir(async (dir) => {
      const broken = join(dir, 'broken');
      writeTestModel(broken);
      editModelManifest(
        broken,
        (manifest) => Object.assign(manifest.networks[0].input, { patch_size: [32, 'big', 16] }),
        {
          unchecked: true,
        },
      );
      const r = await run(['segment', '--demo', '-p', 'kidney', '-o', join(dir, 'o'), '--model', broken]);
      assert.equal(r.code, 1);
      assert.match(r.err, /networks\[0\]\.input\.patch_size/);
    }));
});
