import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { MedparseError } from '../../src/core/errors.js';
import { makePhantomCt } from '../../src/core/phantom.js';
import { answeringRow, loadModelPackage, modelListing } from '../../src/runtime/model-package.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import type { PromptResult } from '../../src/tasks/results.js';
import { editModelManifest, writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';

const REASON = 'held-out Dice 0.10 on 3 test scans';
/** A whole scan of thin slices: only scope-wide marks withhold a row on it. */
const WHOLE = { scope: 'whole', sliceMm: 1 } as const;

/** The test model with these model.json fields on its CT network's first concept (kidney). */
function withKidneyFields(dir: string, fields: Record<string, unknown>): string {
  writeTestModel(dir);
  // unchecked: some cases are the malformed fields the reader must refuse
  editModelManifest(dir, (manifest) => Object.assign(manifest.networks[0].concepts[0], fields), { unchecked: true });
  return dir;
}

/** The test model with kidney marked withheld. */
function withWithheldKidney(dir: string, withheld: unknown = REASON): string {
  return withKidneyFields(dir, { withheld });
}

const byText = (prompts: PromptResult[]) => Object.fromEntries(prompts.map((p) => [p.text, p]));

describe('withheld concepts', () => {
  // The package sits alone in its own folder: `medparse models --dir` lists every package there.
  let root: string;
  let model: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'medparse-withheld-'));
    model = withWithheldKidney(join(root, 'package'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const volume = makePhantomCt({ dims: [64, 64, 32] });

  it('reads the reason, and refuses an empty one or one that is not text', () =>
    withTempDir(async (dir) => {
      assert.equal(loadModelPackage(model).networks[0].concepts[0].withheld, REASON);
      assert.equal(loadModelPackage(model).networks[0].concepts[1].withheld, undefined);
      for (const [value, problem] of [
        ['  ', /concepts\[0\]\.withheld is " {2}"; expected a sentence saying why/],
        [3, /concepts\[0\]\.withheld must be string/],
      ] as const) {
        withWithheldKidney(dir, value);
        assert.throws(
          () => loadModelPackage(dir),
          (error: unknown) => error instanceof MedparseError && problem.test(error.message),
        );
      }
    }));

  it('are answered "unsupported" with the reason, also through a side or a union, and others still work', async () => {
    const engine = ParseEngine.load(model);
    try {
      const answers = byText((await engine.segment(volume, 'kidneys, left kidney, spine')).prompts);
      for (const text of ['kidneys', 'left kidney']) {
        const answer = answers[text];
        assert.equal(answer.status, 'unsupported', text);
        assert.equal(answer.probability, undefined);
        assert.ok(
          answer.notes.some(
            (note) => note === `the model withholds kidney: ${REASON}; --experimental answers it anyway`,
          ),
          `${text}: ${answer.notes.join(' | ')}`,
        );
        assert.ok(!answer.notes.some((note) => /does not segment/.test(note)), answer.notes.join(' | '));
      }
      assert.equal(answers.spine.status, 'present');
    } finally {
      await engine.dispose();
    }
  });

  it("say why once when the concept's own row is withheld, not again for each withheld part", () =>
    withTempDir(async (dir) => {
      withWithheldKidney(dir);
      // the never-present "brain" row stands in for a withheld left kidney
      editModelManifest(dir, (manifest) => {
        manifest.networks[0].concepts[2] = { id: 'kidney_left', index: 2, withheld: 'held-out Dice 0.20 on 2 scans' };
      });
      const engine = ParseEngine.load(dir);
      try {
        const answers = byText((await engine.segment(volume, 'kidneys, left kidney')).prompts);
        assert.deepEqual(
          answers.kidneys.notes.filter((note) => /withholds/.test(note)),
          [`the model withholds kidney: ${REASON}; --experimental answers it anyway`],
        );
        assert.deepEqual(
          answers['left kidney'].notes.filter((note) => /withholds/.test(note)),
          ['the model withholds left kidney: held-out Dice 0.20 on 2 scans; --experimental answers it anyway'],
        );
      } finally {
        await engine.dispose();
      }
    }));

  it("give way to the concept's row in another network of the modality, without a note", () =>
    withTempDir(async (dir) => {
      withWithheldKidney(dir);
      editModelManifest(dir, (manifest) => {
        manifest.networks.push({
          ...manifest.networks[0],
          id: 'body-ct-2',
          concepts: [{ id: 'kidney', index: 0, calibration: { CT: { presence_threshold: 0 } } }],
        });
      });
      const loaded = loadModelPackage(dir);
      assert.equal(answeringRow(loaded, 'kidney', 'CT', WHOLE, false)?.network.id, 'body-ct-2');
      assert.equal(
        answeringRow(loaded, 'kidney', 'CT', WHOLE, true)?.network.id,
        'body-ct',
        'experimental: the first row',
      );
      assert.equal(answeringRow(loaded, 'kidney', 'MR', WHOLE, true), undefined, 'no MR network holds it');
      const engine = ParseEngine.load(dir);
      try {
        const answer = byText((await engine.segment(volume, 'kidneys')).prompts).kidneys;
        assert.equal(answer.status, 'present');
        assert.ok(!answer.notes.some((note) => /withholds/.test(note)), answer.notes.join(' | '));
      } finally {
        await engine.dispose();
      }
    }));

  it('never say "withholds" as a refusal on an answer built another way (one side of the whole)', () =>
    withTempDir(async (dir) => {
      // the third row (brain) becomes a withheld "left kidney": "left kidney" is then the left side of "kidney"
      writeTestModel(dir);
      editModelManifest(dir, (manifest) =>
        Object.assign(manifest.networks[0].concepts[2], { id: 'kidney_left', withheld: REASON }),
      );
      const engine = ParseEngine.load(dir);
      try {
        const left = byText((await engine.segment(volume, 'left kidney')).prompts)['left kidney'];
        assert.equal(left.status, 'present');
        const notes = left.notes.join(' | ');
        assert.doesNotMatch(notes, /--experimental answers it anyway/, notes);
        assert.match(
          notes,
          /answered as the left side of the kidney mask instead of from its own row, which the model withholds/,
        );
      } finally {
        await engine.dispose();
      }
    }));

  it('are answered, with a note, when experimental rows are asked for', async () => {
    const engine = ParseEngine.load(model, { experimental: true });
    try {
      const answer = byText((await engine.segment(volume, 'kidneys')).prompts).kidneys;
      assert.equal(answer.status, 'present');
      assert.ok(answer.evidence && answer.evidence.voxels > 0);
      assert.ok(
        answer.notes.includes(`experimental: the model withholds kidney from normal answers (${REASON})`),
        answer.notes.join(' | '),
      );
    } finally {
      await engine.dispose();
    }
  });

  it('are left out of recognition unless experimental rows are asked for', async () => {
    for (const experimental of [false, true]) {
      const engine = ParseEngine.load(model, { experimental });
      try {
        const ids = (await engine.recognize(volume)).prompts.map((p) => p.concept?.id);
        assert.equal(ids.includes('kidney'), experimental, `experimental ${experimental}: ${ids.join(', ')}`);
        assert.ok(ids.includes('vertebral_column'));
      } finally {
        await engine.dispose();
      }
    }
  });

  it('are listed apart by medparse models, in text and JSON', async () => {
    for (const json of [false, true]) {
      let out = '';
      const code = await runCli(['models', '--dir', root, ...(json ? ['--json'] : [])], {
        stdout: (s) => (out += s + '\n'),
        stderr: () => undefined,
      });
      assert.equal(code, 0);
      if (json) {
        const mine = (JSON.parse(out) as Array<{ dir: string; networks: Array<Record<string, unknown>> }>).find(
          (p) => p.dir === model,
        );
        assert.deepEqual(mine?.networks[0].concepts, ['vertebral_column', 'brain']);
        assert.deepEqual(mine?.networks[0].withheld, { kidney: REASON });
      } else {
        assert.match(
          out,
          /body-ct: CT, .* 2 concepts: vertebral_column, brain\n {4}withheld \(--experimental answers them\): kidney/,
        );
      }
    }
  });
});

const WHOLE_REASON = 'on whole scans (100 mm or more across): held-out Dice 0.00 on 1 scan';

/** The test model with kidney withheld on whole scans only. */
function withKidneyWithheldOnWholeScans(dir: string, withheldOn: unknown = { whole: WHOLE_REASON }): string {
  return withKidneyFields(dir, { withheld_on: withheldOn });
}

describe('concepts withheld on one kind of scan', () => {
  // the same phantom anatomy on a 160 mm grid (a whole scan) and on a 80 mm one (a crop)
  const whole = makePhantomCt({ dims: [64, 64, 32] });
  const crop = makePhantomCt({ dims: [32, 32, 16] });

  it('reads the reasons per scope, and refuses an unknown scope or an empty reason', () =>
    withTempDir(async (dir) => {
      withKidneyWithheldOnWholeScans(dir);
      const kidney = loadModelPackage(dir).networks[0].concepts[0];
      assert.deepEqual(kidney.withheldOn, { whole: WHOLE_REASON });
      assert.equal(kidney.withheld, undefined);
      for (const [value, problem] of [
        [{ thorax: WHOLE_REASON }, /withheld_on\.thorax is not a known field/],
        [{ whole: ' ' }, /withheld_on\.whole is " "; expected a sentence saying why/],
        ['whole', /withheld_on must be object/],
      ] as const) {
        withKidneyWithheldOnWholeScans(dir, value);
        assert.throws(
          () => loadModelPackage(dir),
          (error: unknown) => error instanceof MedparseError && problem.test(error.message),
          JSON.stringify(value),
        );
      }
    }));

  it('are "unsupported" with the reason on that kind of scan and answered on the other', () =>
    withTempDir(async (dir) => {
      const engine = ParseEngine.load(withKidneyWithheldOnWholeScans(dir));
      try {
        const onWhole = byText((await engine.segment(whole, 'kidneys, left kidney')).prompts);
        for (const text of ['kidneys', 'left kidney']) {
          assert.equal(onWhole[text].status, 'unsupported', text);
          assert.ok(
            onWhole[text].notes.includes(
              `the model withholds kidney: ${WHOLE_REASON}; --experimental answers it anyway`,
            ),
            onWhole[text].notes.join(' | '),
          );
        }
        const onCrop = byText((await engine.segment(crop, 'kidneys')).prompts);
        assert.equal(onCrop.kidneys.status, 'present', onCrop.kidneys.notes.join(' | '));
        assert.ok(!onCrop.kidneys.notes.some((note) => /withholds/.test(note)), onCrop.kidneys.notes.join(' | '));
      } finally {
        await engine.dispose();
      }
    }));

  it('are left out of recognition on that kind of scan only, and answered there when experimental', () =>
    withTempDir(async (dir) => {
      withKidneyWithheldOnWholeScans(dir);
      for (const experimental of [false, true]) {
        const engine = ParseEngine.load(dir, { experimental });
        try {
          const onWhole = (await engine.recognize(whole)).prompts.map((p) => p.concept?.id);
          const onCrop = (await engine.recognize(crop)).prompts.map((p) => p.concept?.id);
          assert.equal(onWhole.includes('kidney'), experimental, onWhole.join(', '));
          assert.ok(onCrop.includes('kidney'), onCrop.join(', '));
        } finally {
          await engine.dispose();
        }
      }
    }));

  it('are listed by medparse models under the kind of scan, in text and JSON', () =>
    withTempDir(async (dir) => {
      withKidneyWithheldOnWholeScans(join(dir, 'package'));
      const run = async (args: string[]) => {
        let out = '';
        const code = await runCli(['models', '--dir', dir, ...args], {
          stdout: (s) => (out += s + '\n'),
          stderr: () => undefined,
        });
        assert.equal(code, 0);
        return out;
      };
      assert.match(
        await run([]),
        /3 concepts: kidney, vertebral_column, brain\n {4}withheld on whole scans \(100 mm or more across\): kidney/,
      );
      const [listed] = JSON.parse(await run(['--json'])) as Array<{ networks: Array<Record<string, unknown>> }>;
      assert.deepEqual(listed.networks[0].concepts, ['kidney', 'vertebral_column', 'brain']);
      assert.deepEqual(listed.networks[0].withheld_on, { kidney: { whole: WHOLE_REASON } });
    }));
});

/** The test model with `input.max_slice_mm` on its CT network (the phantom's slices are 4 mm). */
function withMaxSliceMm(dir: string, maxSliceMm: unknown): string {
  writeTestModel(dir);
  editModelManifest(dir, (manifest) => Object.assign(manifest.networks[0].input, { max_slice_mm: maxSliceMm }), {
    unchecked: true,
  });
  return dir;
}

describe('a network measured on thinner slices than the scan has (input.max_slice_mm)', () => {
  const volume = makePhantomCt({ dims: [64, 64, 32] });
  const THICK_NOTE =
    "this scan's slices are 4.0 mm thick, and body-ct was measured to work on slices of at most 3 mm (eval --thick-slices)";

  it('withholds every row of the network on thicker slices, saying how thick both are, and none on thinner', () =>
    withTempDir(async (dir) => {
      for (const [limit, expected] of [
        [3, 'unsupported'],
        [4, 'present'],
      ] as const) {
        const engine = ParseEngine.load(withMaxSliceMm(dir, limit));
        try {
          const answers = byText((await engine.segment(volume, 'kidneys, spine')).prompts);
          for (const text of ['kidneys', 'spine']) {
            assert.equal(answers[text].status, expected, `limit ${limit} mm: ${text}`);
            assert.equal(
              answers[text].notes.some((note) => note.includes(THICK_NOTE)),
              expected === 'unsupported',
              answers[text].notes.join(' | '),
            );
          }
        } finally {
          await engine.dispose();
        }
      }
    }));

  it('runs none of its rows in recognition unless experimental rows are asked for, which answer with the note', () =>
    withTempDir(async (dir) => {
      withMaxSliceMm(dir, 3);
      for (const experimental of [false, true]) {
        const engine = ParseEngine.load(dir, { experimental });
        try {
          const result = await engine.recognize(volume, { modality: 'CT' });
          const ids = result.prompts.map((p) => p.concept?.id);
          assert.equal(ids.includes('vertebral_column'), experimental, ids.join(', '));
          assert.deepEqual(result.model.networks, experimental ? ['body-ct'] : []);
        } finally {
          await engine.dispose();
        }
      }
      const engine = ParseEngine.load(dir, { experimental: true });
      try {
        const spine = (await engine.segment(volume, 'spine')).prompts[0];
        assert.equal(spine.status, 'present');
        assert.ok(
          spine.notes.some((note) => note.includes(THICK_NOTE)),
          spine.notes.join(' | '),
        );
      } finally {
        await engine.dispose();
      }
    }));

  it('is read from model.json and refused when it is not a positive number of mm', () =>
    withTempDir(async (dir) => {
      const loaded = loadModelPackage(withMaxSliceMm(dir, 3));
      assert.equal(loaded.networks[0].maxSliceMm, 3);
      assert.equal(modelListing(loaded).networks[0].max_slice_mm, 3);
      assert.equal(loaded.networks[1].maxSliceMm, undefined, 'no limit unless measured');
      for (const bad of [0, -2, '3']) {
        withMaxSliceMm(dir, bad);
        assert.throws(
          () => loadModelPackage(dir),
          (error: unknown) => error instanceof MedparseError && /max_slice_mm/.test(error.message),
          String(bad),
        );
      }
    }));
});
