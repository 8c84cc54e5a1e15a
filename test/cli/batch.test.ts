/**
 * segment / detect / recognize on several images: one engine, a folder per case, summary.csv, a failed
 * case recorded while the others run, and the usage refused before any inference.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { batchCases, caseStem } from '../../src/cli/batch-cases.js';
import { summaryCsv, type SummaryRow } from '../../src/cli/batch-summary.js';
import { runCli } from '../../src/cli/main.js';
import { formatCsv, parseCsv } from '../../src/core/csv.js';
import { makePhantomCt, type PhantomOptions } from '../../src/core/phantom.js';
import { readVolume } from '../../src/io/read.js';
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

/** summary.csv as records keyed by its header. */
function readSummary(output: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(readFileSync(join(output, 'summary.csv'), 'utf8'));
  return rows.map((row) => Object.fromEntries(header.map((key, index) => [key, row[index]])));
}

async function writePhantom(path: string, options: PhantomOptions = {}): Promise<string> {
  mkdirSync(join(path, '..'), { recursive: true });
  await writeNifti(path, makePhantomCt(options));
  return path;
}

describe('medparse segment on several images', () => {
  let model: string;
  before(() => {
    model = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
  });
  after(() => rmSync(model, { recursive: true, force: true }));

  it("loads the model once and writes each case's folder as a one-image run would, on the case's own grid", () =>
    withTempDir(async (dir) => {
      const a = await writePhantom(join(dir, 'a.nii.gz'));
      const b = await writePhantom(join(dir, 'b.nii.gz'), { dims: [96, 80, 40], seed: 7 });
      const output = join(dir, 'out');
      const r = await run(['segment', a, b, '-p', 'kidney, spine, brain', '-o', output, '--model', model]);
      assert.equal(r.code, 0, r.err);
      const lines = r.err.split('\n');
      assert.equal(lines.filter((line) => line.startsWith('load model')).length, 1, r.err);
      assert.ok(lines.includes(`case 1 of 2: a (${a})`) && lines.includes(`case 2 of 2: b (${b})`), r.err);

      const single = join(dir, 'single');
      const one = await run(['segment', a, '-p', 'kidney, spine, brain', '-o', single, '--model', model, '--quiet']);
      assert.equal(one.code, 0, one.err);
      assert.deepEqual(readdirSync(join(output, 'a')).sort(), readdirSync(single).sort());
      const labels = await readVolume(join(output, 'a', 'labels.nii.gz'));
      assert.deepEqual(labels.data, (await readVolume(join(single, 'labels.nii.gz'))).data);
      const bInput = await readVolume(b);
      const bKidney = await readVolume(join(output, 'b', 'kidney.nii.gz'));
      assert.deepEqual(bKidney.dims, [96, 80, 40]);
      assert.deepEqual(bKidney.affine, bInput.affine);
      assert.deepEqual(readdirSync(output).sort(), [
        '.medparse-summary-manifest.json',
        'a',
        'b',
        'summary.csv',
        'summary.json',
      ]);

      const rows = readSummary(output);
      assert.deepEqual(
        rows.map((row) => [row.case, row.prompt, row.status]),
        [
          ['a', 'kidney', 'present'],
          ['a', 'spine', 'present'],
          ['a', 'brain', 'absent'],
          ['b', 'kidney', 'present'],
          ['b', 'spine', 'present'],
          ['b', 'brain', 'absent'],
        ],
      );
      const report = JSON.parse(readFileSync(join(output, 'b', 'report.json'), 'utf8'));
      const kidney = report.prompts.find((p: { text: string }) => p.text === 'kidney');
      const bRow = rows.find((row) => row.case === 'b' && row.prompt === 'kidney');
      assert.equal(bRow?.volume_ml, kidney.statistics.volume_ml.toFixed(3));
      assert.equal(Number(bRow?.voxels), kidney.statistics.voxels);
      assert.equal(bRow?.concept_id, 'kidney');
      assert.equal(bRow?.mask_file, 'b/kidney.nii.gz');
      assert.match(bRow?.score ?? '', /^\d\.\d{3}$/);
      const json = JSON.parse(readFileSync(join(output, 'summary.json'), 'utf8'));
      assert.equal(json.rows.length, rows.length);
      assert.equal(json.rows[3].volume_ml, Number(bRow?.volume_ml));
    }));

  it('records a broken image in the summary, parses the others, and exits 1', () =>
    withTempDir(async (dir) => {
      const good = await writePhantom(join(dir, 'good.nii.gz'), { dims: [64, 64, 32] });
      const broken = join(dir, 'broken.nii.gz');
      writeFileSync(broken, 'not an image');
      const later = await writePhantom(join(dir, 'later.nii.gz'), { dims: [64, 64, 32], seed: 3 });
      const output = join(dir, 'out');
      const r = await run(['detect', good, broken, later, '-p', 'kidney', '-o', output, '--model', model, '--json']);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /case 2 of 3 \(broken\) failed: .*broken\.nii\.gz: /);
      assert.ok(!r.err.includes('    at '), 'no stack trace');
      const rows = readSummary(output);
      assert.deepEqual(
        rows.map((row) => [row.case, row.status]),
        [
          ['good', 'present'],
          ['broken', 'failed'],
          ['later', 'present'],
        ],
      );
      assert.match(rows[1].error, /broken\.nii\.gz/);
      assert.equal(rows[0].instances, '2', 'detect counts both kidneys');
      assert.ok(existsSync(join(output, 'later', 'report.json')));
      assert.equal(existsSync(join(output, 'broken')), false);
      assert.deepEqual(
        readdirSync(output).filter((name) => name.includes('medparse-lock') || name.includes('staging')),
        [],
      );
      const printed = JSON.parse(r.out);
      assert.deepEqual(
        printed.map((entry: { case: string; error?: string }) => [entry.case, typeof entry.error]),
        [
          ['good', 'undefined'],
          ['broken', 'string'],
          ['later', 'undefined'],
        ],
      );
      assert.equal(printed[0].report.prompts[0].status, 'present');
    }));

  it('names cases safely and uniquely, and quotes paths and prompts in summary.csv', () =>
    withTempDir(async (dir) => {
      const first = await writePhantom(join(dir, 'x', 'scan.nii.gz'), { dims: [32, 32, 16] });
      const second = await writePhantom(join(dir, 'y', 'scan.nii.gz'), { dims: [32, 32, 16] });
      const odd = await writePhantom(join(dir, 'my scan, "v2".nii.gz'), { dims: [32, 32, 16] });
      const output = join(dir, 'out');
      const prompt = 'the "left" kidney';
      const r = await run(['segment', first, second, odd, '-p', prompt, '-o', output, '--model', model, '--quiet']);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(
        readdirSync(output)
          .filter((name) => !name.startsWith('.'))
          .sort(),
        ['my_scan_v2_', 'scan', 'scan-2', 'summary.csv', 'summary.json'],
      );
      const text = readFileSync(join(output, 'summary.csv'), 'utf8');
      assert.ok(text.includes(`"${odd.replace(/"/g, '""')}"`), text);
      const rows = readSummary(output);
      assert.deepEqual(
        rows.map((row) => [row.case, row.input]),
        [
          ['scan', first],
          ['scan-2', second],
          ['my_scan_v2_', odd],
        ],
      );
      assert.ok(
        rows.every((row) => row.prompt.includes('"left"')),
        text,
      );
    }));

  it('disambiguates names that differ only in case and keeps clear of the summary files', () => {
    const cases = batchCases(
      ['p/scan.nii.gz', 'q/Scan.nii', 'r/scan.zip', 's/summary.json', 't/...nii.gz', 'u/-x.mha'],
      'o',
    );
    assert.deepEqual(
      cases.map((c) => c.name),
      ['scan', 'Scan-2', 'scan-3', 'summary.json-2', 'case', 'x'],
    );
    assert.equal(cases[1].dir, join('o', 'Scan-2'));
    assert.equal(caseStem('/data/.hidden.nii.gz'), 'hidden');
    assert.equal(caseStem('/data/###.nii.gz'), '_');
  });

  it('quotes a field with a comma, a quote or a line break, and reads it back', () => {
    const rows = [['a,b', 'say "hi"', 'two\nlines', 'plain', '']];
    const text = formatCsv(rows);
    assert.equal(text, '"a,b","say ""hi""","two\nlines",plain,\r\n');
    assert.deepEqual(parseCsv(text), rows);
  });

  it('starts a text cell that a spreadsheet would run as a formula with an apostrophe, never a number', () => {
    const row: SummaryRow = {
      case: '_HYPERLINK_x_',
      input: '=HYPERLINK("http://evil.example","open").nii.gz',
      modality: 'CT',
      prompt: '-2+3',
      status: 'unknown',
      score: -0.5,
      concept_id: null,
      concept_name: '+liver',
      snomed: '@SUM(A1)',
      volume_ml: 0,
      voxels: 0,
      mean_intensity: -850.123,
      std_intensity: 12,
      instances: 0,
      mask_file: 'x/liver.nii.gz',
      error: '\tcmd|calc\r',
    };
    const tabbed = { ...row, input: '\r=1+1', prompt: 'a=b', error: "'=already" };
    const [header, ...rows] = parseCsv(summaryCsv([row, tabbed]));
    const cells = rows.map((cells) => Object.fromEntries(header.map((key, n) => [key, cells[n]])));
    assert.equal(cells[0].input, `'${row.input}`);
    assert.equal(cells[0].prompt, "'-2+3");
    assert.equal(cells[0].concept_name, "'+liver");
    assert.equal(cells[0].snomed, "'@SUM(A1)");
    assert.equal(cells[0].error, "'\tcmd|calc\r");
    assert.equal(cells[0].case, '_HYPERLINK_x_');
    assert.equal(cells[0].mask_file, 'x/liver.nii.gz');
    assert.equal(cells[0].concept_id, '');
    assert.equal(cells[0].score, '-0.500', 'a negative number stays a number');
    assert.equal(cells[0].mean_intensity, '-850.12');
    assert.equal(cells[1].input, "'\r=1+1", 'a carriage return first, quoted and escaped');
    assert.equal(cells[1].prompt, 'a=b', 'only the first character counts');
    assert.equal(cells[1].error, "'=already");
  });

  it('escapes a hostile file name and prompts in summary.csv, and summary.json keeps them raw', () =>
    withTempDir(async (dir) => {
      const name = '=HYPERLINK("evil.example","open").nii.gz';
      await writePhantom(join(dir, name), { dims: [32, 32, 16] });
      await writePhantom(join(dir, 'plain.nii.gz'), { dims: [32, 32, 16], seed: 2 });
      const args = [MAIN, 'segment', name, 'plain.nii.gz', '-p', '@kidney, -spine', '-o', 'out', '--model', model];
      const child = spawn(process.execPath, [...args, '--quiet'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (chunk) => (err += String(chunk)));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, err);
      const rows = readSummary(join(dir, 'out'));
      const json = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')) as { rows: SummaryRow[] };
      assert.deepEqual(
        rows.map((row) => [row.case, row.input, row.prompt]),
        [
          ['_HYPERLINK_evil.example_open_', `'${name}`, "'@kidney"],
          ['_HYPERLINK_evil.example_open_', `'${name}`, "'-spine"],
          ['plain', 'plain.nii.gz', "'@kidney"],
          ['plain', 'plain.nii.gz', "'-spine"],
        ],
      );
      assert.deepEqual(
        json.rows.map((row) => [row.input, row.prompt]),
        [
          [name, '@kidney'],
          [name, '-spine'],
          ['plain.nii.gz', '@kidney'],
          ['plain.nii.gz', '-spine'],
        ],
        'summary.json keeps the raw text',
      );
    }));

  it('refuses an image given twice, -o inside an input folder and --demo with images, before any inference', () =>
    withTempDir(async (dir) => {
      const a = await writePhantom(join(dir, 'a.nii.gz'), { dims: [16, 16, 8] });
      const series = join(dir, 'series');
      mkdirSync(series);
      const output = join(dir, 'out');
      const base = ['-p', 'kidney', '--model', model, '--quiet'];
      const twice = await run(['segment', a, a, '-o', output, ...base]);
      assert.equal(twice.code, 2, twice.err);
      assert.match(twice.err, /the image ".*a\.nii\.gz" is given twice; give each image once/);
      const aliased = await run(['segment', a, `${dir}/./a.nii.gz`, '-o', output, ...base]);
      assert.equal(aliased.code, 2, aliased.err);
      assert.match(aliased.err, /are the same image; give each image once/);
      const inside = await run(['segment', a, series, '-o', join(series, 'results'), ...base]);
      assert.equal(inside.code, 2, inside.err);
      assert.match(inside.err, /is inside the input folder ".*series"/);
      const demo = await run(['segment', '--demo', a, series, '-o', output, ...base]);
      assert.equal(demo.code, 2, demo.err);
      assert.match(demo.err, /--demo parses the built-in synthetic CT, not 2 images/);
      assert.equal(existsSync(output), false, 'nothing written');
      assert.equal(existsSync(join(series, 'results')), false);
    }));

  it("replaces its own summary with --force and never a user's summary.csv", () =>
    withTempDir(async (dir) => {
      const a = await writePhantom(join(dir, 'a.nii.gz'), { dims: [32, 32, 16] });
      const b = await writePhantom(join(dir, 'b.nii.gz'), { dims: [32, 32, 16], seed: 5 });
      const output = join(dir, 'out');
      const args = ['segment', a, b, '-p', 'kidney', '-o', output, '--model', model, '--quiet'];
      assert.equal((await run(args)).code, 0);
      const again = await run(args);
      assert.equal(again.code, 1);
      assert.match(again.err, /holds summary\.csv of an earlier run; .* --force/);
      assert.equal((await run([...args, '--force'])).code, 0);
      writeFileSync(join(output, 'summary.csv'), 'my notes');
      const mine = await run([...args, '--force']);
      assert.equal(mine.code, 1);
      assert.match(mine.err, /summary\.csv is in the output folder but is not a summary medparse wrote/);
      assert.equal(readFileSync(join(output, 'summary.csv'), 'utf8'), 'my notes');
    }));

  it("SIGINT during the second case releases every case's lock and leaves the first case whole", () =>
    withTempDir(async (dir) => {
      const a = await writePhantom(join(dir, 'a.nii.gz'));
      const b = await writePhantom(join(dir, 'b.nii.gz'), { seed: 9 });
      const output = join(dir, 'out');
      const args = [MAIN, 'segment', a, b, '-p', 'kidney', '-o', output, '--model', model];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      let signalled = false;
      // one signal, when the second case starts (a line on stderr), whatever the machine's speed; a second
      // signal would meet no handler, the first having ended the run
      child.stderr.on('data', (chunk) => {
        err += String(chunk);
        if (!signalled && err.includes('case 2 of 2: b')) signalled = child.kill('SIGINT');
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      const left = readdirSync(output).filter((name) => /medparse-(lock|staging)/.test(name));
      assert.deepEqual(left, [], 'no lock or staging');
      assert.ok(existsSync(join(output, 'a', 'report.json')), 'the finished case keeps its results');
      if (code === 130) assert.deepEqual(readdirSync(output), ['a'], 'no b folder and no summary');
      else assert.equal(code, 0, `the run had finished before the signal: then it is complete\n${err}`);
    }));
});
