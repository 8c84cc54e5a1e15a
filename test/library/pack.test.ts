/**
 * The package as a user gets it: `npm pack`, installed into an empty project, imported by name. The
 * README's library example is type-checked against the shipped .d.ts files and run. The install is
 * offline: the project's lockfile is the repository's own for the runtime dependencies, so `npm ci
 * --offline` takes every tarball from the npm cache that the repository's `npm ci` filled.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { makePhantomCt } from '../../src/core/phantom.js';
import { readVolume } from '../../src/io/read.js';
import { writeNifti } from '../../src/io/write-nifti.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** What the package root exports at run time (types aside): the API the README documents, nothing else. */
const EXPORTED = [
  'MedparseError',
  'Parser',
  'VERSION',
  'createVolume',
  'isMedparseError',
  'listModels',
  'loadParser',
  'readVolume',
  'readVolumeHeader',
  'resolvePrompts',
  'writeResults',
  'writeVolume',
];

interface LockEntry {
  version?: string;
  dev?: boolean;
  [key: string]: unknown;
}
interface Lockfile {
  packages: Record<string, LockEntry>;
}
interface Manifest {
  name: string;
  version: string;
  license: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
}

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The README's "Use it as a library" example, as a reader would copy it. */
function readmeExample(): string {
  const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it as a library'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'README has a ```ts block under "Use it as a library"');
  return code;
}

/**
 * A project depending on the tarball and @types/node, locked to the repository's own versions of
 * medparse's runtime dependencies (entries not marked dev), so that nothing needs the registry.
 */
function writeProject(dir: string, tarball: string): void {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as Manifest;
  const lock = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const types = lock.packages['node_modules/@types/node'];
  const dependencies = { medparse: `file:${tarball}`, '@types/node': String(types.version) };
  const packages: Record<string, LockEntry> = {
    '': { name: 'try-medparse', dependencies },
    'node_modules/medparse': {
      version: manifest.version,
      resolved: `file:${tarball}`,
      integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages))
    if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  for (const name of ['@types/node', 'undici-types']) {
    const entry = { ...lock.packages[`node_modules/${name}`] };
    delete entry.dev;
    packages[`node_modules/${name}`] = entry;
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'try-medparse', private: true, type: 'module', dependencies }),
  );
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'try-medparse', lockfileVersion: 3, requires: true, packages }),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        outDir: 'build',
      },
      files: ['example.ts'],
    }),
  );
}

describe('the packed package, installed into an empty project', { timeout: 300_000 }, () => {
  let root: string;
  let project: string;
  let files: string[];
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'medparse-pack-'));
    project = join(root, 'project');
    mkdirSync(project);
    // dist/ is what `npm test` just built; --ignore-scripts: no second build through `prepare`
    const [packed] = JSON.parse(
      run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', root], PACKAGE_ROOT),
    ) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    files = packed.files.map((f) => f.path);
    writeProject(project, join(root, packed.filename));
    try {
      run(NPM, ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], project);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(
        `offline install of the tarball failed (run npm ci in the repository first to fill the npm cache): ${stderr}`,
      );
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('the tarball holds the build, the viewer, the schemas, the models and the data, and no tests or sources', () => {
    for (const needed of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      'models/medparse-default/model.json',
      'data/vocabulary.json',
      'data/demo/example_ct.nii.gz',
      'dist/viewer/index.html',
      'schemas/report.schema.json',
    ])
      assert.ok(files.includes(needed), `${needed} is in the tarball`);
    const stray = files.filter((f) => /^(dist\/(test|bench|scripts)|test|src|training|scripts|bench)\//.test(f));
    assert.deepEqual(stray, []);
  });

  test('imported by name it exports the documented API and nothing internal', () => {
    const script = "const m = await import('medparse'); console.log(JSON.stringify(Object.keys(m).sort()));";
    assert.deepEqual(JSON.parse(run(process.execPath, ['--input-type=module', '-e', script], project)), EXPORTED);
    const deep = "await import('medparse/dist/src/io/read.js')";
    assert.throws(
      () => run(process.execPath, ['--input-type=module', '-e', deep], project),
      /ERR_PACKAGE_PATH_NOT_EXPORTED/,
    );
  });

  test('the README example type-checks against the shipped types and runs on a generated CT', async () => {
    writeFileSync(join(project, 'example.ts'), readmeExample());
    run(process.execPath, [TSC, '-p', '.'], project);
    const input = makePhantomCt({ dims: [96, 96, 48] });
    await writeNifti(join(project, 'ct.nii.gz'), input);
    const stdout = run(process.execPath, [join('build', 'example.js'), 'ct.nii.gz'], project);
    const report = JSON.parse(readFileSync(join(project, 'results', 'report.json'), 'utf8')) as {
      prompts: Array<{ text: string; status: string }>;
    };
    // what it printed is what the results folder says, prompt by prompt
    const printed = stdout
      .trim()
      .split('\n')
      .map((line) => /^(.+): (\w+)/.exec(line)?.slice(1, 3));
    assert.deepEqual(
      printed,
      report.prompts.map((p) => [p.text, p.status]),
    );
    assert.deepEqual(
      report.prompts.map((p) => p.text),
      ['liver', 'both kidneys'],
    );
    for (const p of report.prompts) assert.ok(['present', 'absent'].includes(p.status), `${p.text}: ${p.status}`);
    assert.deepEqual((await readVolume(join(project, 'results', 'labels.nii.gz'))).dims, input.dims);
  });

  test('the medparse command is linked into the project', () => {
    const bin = join(project, 'node_modules', '.bin', 'medparse');
    const out = run(bin, ['info', '--demo', '--json'], project);
    assert.deepEqual((JSON.parse(out) as { dims: number[] }).dims, [128, 128, 64]);
    const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as Manifest;
    assert.equal(run(bin, ['--version'], project).trim(), manifest.version);
  });
});
