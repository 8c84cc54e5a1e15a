/**
 * Compressed transfer syntaxes against independent encoders and decoders. The fixtures in
 * test/fixtures/dicom-codecs/ were written natively by the series generator and compressed by dcmtk,
 * GDCM and OpenJPH (scripts/make-dicom-codec-fixtures.ts); lossless copies must decode to exactly the
 * native voxels, lossy ones to within the manifest's tolerance of what the encoder's own toolkit
 * decodes them to.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MedparseError } from '../../../src/core/errors.js';
import { readFileMetaInformation } from '../../../src/io/dicom/element-walker.js';
import { readDicomSeries } from '../../../src/io/dicom/index.js';
import type { FixtureCase } from '../../../scripts/make-dicom-codec-fixtures.js';
import { REPO_ROOT } from '../../helpers/shared.js';
import { maxAbsDifference } from '../../helpers/volumes.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/dicom-codecs');
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as FixtureCase[];

function transferSyntaxesIn(folder: string): Set<string> {
  return new Set(
    readdirSync(folder).map((name) => {
      const meta = readFileMetaInformation(new Uint8Array(readFileSync(join(folder, name))), 132);
      return meta?.transferSyntaxUid?.replace(/\0/g, '').trim() ?? 'none';
    }),
  );
}

describe('compressed DICOM decodes like the native series', () => {
  for (const fixture of manifest) {
    describe(`${fixture.name} (${fixture.description})`, () => {
      const caseDir = join(FIXTURES, fixture.name);
      for (const encoding of fixture.encodings) {
        it(`${encoding.folder}: ${encoding.transferSyntaxUid} from ${encoding.encoder}`, async () => {
          const folder = join(caseDir, encoding.folder);
          assert.deepEqual([...transferSyntaxesIn(folder)], [encoding.transferSyntaxUid]);
          if (encoding.refused !== undefined) {
            await assert.rejects(readDicomSeries(folder), (error: MedparseError) => {
              assert.equal(error.code, 'UNSUPPORTED_FORMAT');
              assert.match(error.message, new RegExp(encoding.refused as string));
              assert.match(error.message, /gdcmconv --raw|dcmdjpeg/);
              return true;
            });
            return;
          }
          const decoded = await readDicomSeries(folder);
          const reference = await readDicomSeries(join(caseDir, encoding.reference));
          assert.deepEqual(decoded.dims, reference.dims);
          assert.deepEqual(decoded.affine, reference.affine);
          assert.equal(decoded.meta.storedType, reference.meta.storedType);
          const unit = Math.abs(fixture.rescaleSlope);
          const difference = maxAbsDifference(decoded.data, reference.data);
          assert.ok(
            difference <= encoding.tolerance * unit,
            `decoded voxels differ from ${encoding.reference} by up to ${difference} (allowed ${encoding.tolerance * unit})`,
          );
          if (encoding.tolerance === 0) assert.equal(decoded.data.constructor, reference.data.constructor);
          if (encoding.sourceTolerance !== undefined) {
            const source = await readDicomSeries(join(caseDir, fixture.source));
            const error = maxAbsDifference(decoded.data, source.data);
            assert.ok(
              error <= encoding.sourceTolerance * unit,
              `near-lossless error ${error} exceeds the encoder's bound`,
            );
            assert.ok(error > 0, 'a near-lossless fixture that decodes exactly does not test the lossy path');
          }
        });
      }
    });
  }
});

describe('the codecs keep quiet', () => {
  it('decoding JPEG 2000 writes nothing to stdout (OpenJPEG logs every header it reads)', () => {
    const reader = join(REPO_ROOT, 'dist/src/io/dicom/index.js');
    const script = `const { readDicomSeries } = await import(${JSON.stringify(pathToFileURL(reader).href)});
      const volume = await readDicomSeries(${JSON.stringify(join(FIXTURES, 'ct-int16/j2k'))});
      process.stderr.write(String(volume.dims));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '24,20,3');
    assert.equal(run.stdout, '');
  });
});

describe('a damaged compressed frame is a clear error', () => {
  const scratch = join(tmpdir(), `medparse-damaged-${process.pid}`);
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** Copies one fixture file with `length` bytes of its first frame's codestream overwritten. */
  function damagedCopy(fixtureFolder: string, start: number[], length: number): string {
    const folder = join(scratch, fixtureFolder.replace(/\//g, '-'));
    mkdirSync(folder, { recursive: true });
    const name = readdirSync(join(FIXTURES, fixtureFolder))[0];
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, fixtureFolder, name)));
    const at = indexOf(bytes, start);
    assert.ok(at > 0, `the fixture holds no codestream starting ${start.map((b) => b.toString(16)).join(' ')}`);
    bytes.fill(0x55, at, at + length);
    writeFileSync(join(folder, name), bytes);
    return folder;
  }

  const cases: Array<[string, string, number[]]> = [
    ['JPEG 2000', 'ct-int16/j2k', [0xff, 0x4f, 0xff, 0x51]],
    ['JPEG-LS', 'ct-int16/jpeg-ls', [0xff, 0xd8, 0xff, 0xf7]],
    ['JPEG Lossless', 'ct-int16/jpeg-lossless-sv1', [0xff, 0xd8]],
    ['HTJ2K', 'ct-uint12/htj2k', [0xff, 0x4f, 0xff, 0x51]],
  ];
  for (const [codec, fixture, start] of cases) {
    it(`${codec}: CORRUPT_FILE naming the file`, async () => {
      const folder = damagedCopy(fixture, start, 16);
      await assert.rejects(readDicomSeries(folder), (error: MedparseError) => {
        assert.equal(error.code, 'CORRUPT_FILE', error.message);
        assert.ok(error.file?.startsWith(folder), error.message);
        assert.match(error.message, /cannot decode the .* pixel data/);
        return true;
      });
    });
  }
});

function indexOf(bytes: Uint8Array, pattern: number[]): number {
  outer: for (let i = 132; i + pattern.length <= bytes.length; i++) {
    for (let p = 0; p < pattern.length; p++) if (bytes[i + p] !== pattern[p]) continue outer;
    return i;
  }
  return -1;
}
