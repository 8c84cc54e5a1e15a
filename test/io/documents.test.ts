import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { runCli } from '../../src/cli/main.js';
import { MedparseError } from '../../src/core/errors.js';
import { precompiledValidatorPath, schemaDigest, schemaPath, type DocumentKind } from '../../src/io/documents.js';
import { readLabelTable } from '../../src/io/label-table.js';
import { readModelManifest } from '../../src/runtime/model-manifest.js';
import { loadModelPackage } from '../../src/runtime/model-package.js';
import { DEFAULT_MODEL_DIR } from '../../src/tasks/engine.js';
import { readReport } from '../../src/tasks/report.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { writeTestModel } from '../helpers/test-model.js';
import { writeSeries } from './dicom/make-series.js';

const KINDS: DocumentKind[] = ['report', 'labels', 'model'];
/** A parsed document the tests break on purpose (any field, any type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** The published schemas as any client would use them: plain ajv, no medparse code. */
function publishedValidator(kind: DocumentKind) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  return ajv.compile(JSON.parse(readFileSync(schemaPath(kind), 'utf8')) as object);
}

function assertValid(kind: DocumentKind, file: string): void {
  const validate = publishedValidator(kind);
  const valid = validate(JSON.parse(readFileSync(file, 'utf8')));
  assert.ok(valid, `${file} against ${kind}.schema.json: ${JSON.stringify(validate.errors, null, 1)}`);
}

async function cli(args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s + '\n'), stderr: (s) => (err += s + '\n') });
  assert.equal(code, 0, `medparse ${args.join(' ')}: ${err}`);
  return out;
}

/** Real outputs of the engine: a segment run on a DICOM series (with its SEG) and on the phantom, a recognize run. */
let root = '';
let model = '';
let series = '';
const outputs: Record<'dicom' | 'phantom' | 'recognize', string> = { dicom: '', phantom: '', recognize: '' };

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'medparse-documents-'));
  model = writeTestModel(join(root, 'models', 'test-bands'));
  series = (await writeSeries(join(root, 'series'), { columns: 48, rows: 40, slices: 12, modality: 'CT' })).folder;
  outputs.dicom = join(root, 'out-dicom');
  outputs.phantom = join(root, 'out-phantom');
  outputs.recognize = join(root, 'out-recognize');
  await cli(['segment', series, '-p', 'kidneys, spine', '-o', outputs.dicom, '--model', model, '--quiet']);
  await cli([
    'segment',
    '--demo',
    '-p',
    'kidneys, spine, left kidney, brain, fooo',
    '-o',
    outputs.phantom,
    '--model',
    model,
    '--dicom-seg',
    '--quiet',
  ]);
  await cli(['recognize', '--demo', '-o', outputs.recognize, '--model', model, '--quiet']);
});

after(() => rmSync(root, { recursive: true, force: true }));

describe('published JSON schemas (schemas/*.schema.json)', () => {
  it('compile as JSON Schema 2020-12 in strict mode and ship with the package', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] };
    assert.ok(pkg.files.includes('schemas'), 'package.json files lists schemas');
    for (const kind of KINDS) {
      const schema = JSON.parse(readFileSync(schemaPath(kind), 'utf8')) as { $schema: string };
      assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
      publishedValidator(kind);
    }
    assert.deepEqual(readdirSync(join(REPO_ROOT, 'schemas')).sort(), KINDS.map((k) => `${k}.schema.json`).sort());
  });

  it('are compiled ahead by the build, each validator from the schema as it is now', () => {
    // a run loads these instead of compiling the schemas; one whose digest differs is not used
    for (const kind of KINDS) {
      const built = readFileSync(precompiledValidatorPath(kind), 'utf8');
      assert.ok(built.includes(`module.exports.schemaDigest = "${schemaDigest(kind)}"`), kind);
    }
  });

  it('the shipped model.json validates, and reads through the one reader', () => {
    assertValid('model', join(DEFAULT_MODEL_DIR, 'model.json'));
    const manifest = readModelManifest(DEFAULT_MODEL_DIR);
    const loaded = loadModelPackage(DEFAULT_MODEL_DIR);
    assert.deepEqual(
      loaded.networks.map((n) => n.concepts.length),
      manifest.networks.map((n) => n.concepts.length),
    );
  });

  it("the engine's report.json and labels.json validate (DICOM input, SEG, present/absent/unknown, recognize)", () => {
    for (const dir of Object.values(outputs)) {
      assertValid('report', join(dir, 'report.json'));
      assertValid('labels', join(dir, 'labels.json'));
    }
    const dicom = readReport(outputs.dicom);
    assert.equal(dicom.input.format, 'dicom');
    assert.ok(dicom.input.dicom?.series_instance_uid, 'the DICOM keys were checked');
    const phantom = readReport(outputs.phantom);
    assert.deepEqual(
      phantom.prompts.map((p) => p.status),
      ['present', 'present', 'present', 'absent', 'unknown'],
      'every status shape was checked',
    );
    assert.ok(phantom.dicom_seg?.segments.length, 'the SEG section was checked');
    assert.ok(readLabelTable(join(outputs.phantom, 'labels.json')).labels.some((l) => l.answer));
    assert.equal(readReport(outputs.recognize).task, 'recognize');
  });

  it('a mutated document is refused with a one-line message naming the file and the path', () => {
    const dir = join(root, 'mutated');
    const cases: Array<{ kind: DocumentKind; from: string; mutate: (doc: Loose) => void; problem: RegExp }> = [
      {
        kind: 'report',
        from: join(outputs.phantom, 'report.json'),
        mutate: (r) => delete r.prompts[1].status,
        problem: /prompts\[1\]\.status is missing/,
      },
      {
        kind: 'report',
        from: join(outputs.phantom, 'report.json'),
        mutate: (r) => (r.input.dims = '128x128x64'),
        problem: /input\.dims must be array/,
      },
      {
        kind: 'report',
        from: join(outputs.phantom, 'report.json'),
        mutate: (r) => (r.prompts[0].status = 'maybe'),
        problem: /prompts\[0\]\.status is "maybe"; expected one of "present", "absent"/,
      },
      {
        kind: 'labels',
        from: join(outputs.phantom, 'labels.json'),
        mutate: (t) => delete t.labels[0].color,
        problem: /labels\[0\]\.color is missing/,
      },
      {
        kind: 'labels',
        from: join(outputs.phantom, 'labels.json'),
        mutate: (t) => (t.labels[2].value = '3'),
        problem: /labels\[2\]\.value must be integer/,
      },
      {
        kind: 'model',
        from: join(DEFAULT_MODEL_DIR, 'model.json'),
        mutate: (m) => delete m.networks[1].input.patch_size,
        problem: /networks\[1\]\.input\.patch_size is missing/,
      },
      {
        kind: 'model',
        from: join(DEFAULT_MODEL_DIR, 'model.json'),
        mutate: (m) => (m.networks[0].concepts[0].calibration.MR.presence_platt = 'steep'),
        problem: /networks\[0\]\.concepts\[0\]\.calibration\.MR\.presence_platt must be array/,
      },
    ];
    for (const { kind, from, mutate, problem } of cases) {
      rmSync(dir, { recursive: true, force: true });
      const name = kind === 'report' ? 'report.json' : kind === 'labels' ? 'labels.json' : 'model.json';
      const file = join(dir, name);
      copyDocument(from, file, mutate);
      assert.equal(publishedValidator(kind)(JSON.parse(readFileSync(file, 'utf8'))), false, 'plain ajv refuses it');
      const read =
        kind === 'report'
          ? () => readReport(dir)
          : kind === 'labels'
            ? () => readLabelTable(file)
            : () => readModelManifest(dir);
      assert.throws(read, (error: unknown) => {
        assert.ok(error instanceof MedparseError, String(error));
        assert.equal(error.code, 'CORRUPT_FILE');
        assert.ok(error.message.startsWith(`${file}: not a valid ${kind}.schema.json document: `), error.message);
        assert.match(error.message, problem);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    }
  });

  it('a model package with a broken model.json is refused by medparse models, naming the file and field', async () => {
    const broken = join(root, 'broken-models', 'bad');
    writeTestModel(broken);
    copyDocument(join(broken, 'model.json'), join(broken, 'model.json'), (m) => (m.networks[0].input.spacing = [2, 2]));
    let err = '';
    const code = await runCli(['models', '--dir', join(root, 'broken-models')], {
      stdout: () => undefined,
      stderr: (s) => (err += s),
    });
    assert.notEqual(code, 0);
    assert.match(err, /bad\/model\.json: .*networks\[0\]\.input\.spacing must NOT have fewer than 3 items/);
  });
});

describe('JSON key convention: snake_case in info --json, models --json and report.json', () => {
  /** Every key (with its path) in the camelCase convention: a lower-case letter or digit then a capital. */
  function camelKeys(value: unknown, path = ''): string[] {
    if (Array.isArray(value)) return value.flatMap((v, i) => camelKeys(v, `${path}[${i}]`));
    if (value === null || typeof value !== 'object') return [];
    return Object.entries(value).flatMap(([key, v]) => [
      ...(/[a-z0-9][A-Z]/.test(key) ? [`${path}.${key}`] : []),
      ...camelKeys(v, `${path}.${key}`),
    ]);
  }

  it('finds a camelCase key (the check works)', () => {
    assert.deepEqual(camelKeys({ ok_key: [{ seriesUid: 1 }] }), ['.ok_key[0].seriesUid']);
  });

  it('medparse info --json, on a generated volume and on a DICOM series', async () => {
    for (const args of [['--demo'], [series]]) {
      const info = JSON.parse(await cli(['info', ...args, '--json'])) as Record<string, unknown>;
      assert.deepEqual(camelKeys(info), [], `info ${args.join(' ')}`);
    }
    const dicom = JSON.parse(await cli(['info', series, '--json'])) as { dicom: Record<string, unknown> };
    assert.deepEqual(Object.keys(dicom.dicom).sort(), [
      'series_count',
      'series_instance_uid',
      'slices',
      'study_instance_uid',
    ]);
  });

  it('medparse models --json, on the test package and the shipped one', async () => {
    for (const dir of [join(root, 'models'), join(DEFAULT_MODEL_DIR, '..')]) {
      const listed = JSON.parse(await cli(['models', '--dir', dir, '--json'])) as unknown[];
      assert.ok(listed.length > 0);
      assert.deepEqual(camelKeys(listed), [], dir);
    }
  });

  it('report.json of every run above, and labels.json outside NiiVue’s own colormap keys', () => {
    for (const dir of Object.values(outputs)) {
      assert.deepEqual(camelKeys(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))), [], dir);
      const table = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Record<string, unknown>;
      delete table.niivue;
      assert.deepEqual(camelKeys(table), [], dir);
    }
  });
});

/** Writes `from`'s document, changed by `mutate`, to `to`. */
function copyDocument(from: string, to: string, mutate: (doc: Loose) => void): void {
  const doc = JSON.parse(readFileSync(from, 'utf8')) as Loose;
  mutate(doc);
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, JSON.stringify(doc));
}
