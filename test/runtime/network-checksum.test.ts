import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MedparseError } from '../../src/core/errors.js';
import { checkNetworkFile, loadModelPackage } from '../../src/runtime/model-package.js';
import { DEFAULT_MODEL_DIR } from '../../src/core/paths.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { makePhantomCt } from '../../src/core/phantom.js';
import { editModelManifest, writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Writes `sha256` into every network of the model package at `dir`. */
function setSums(dir: string, sum: (file: string) => string): void {
  editModelManifest(
    dir,
    (manifest) => {
      for (const network of manifest.networks) network.sha256 = sum(join(dir, network.file));
    },
    { unchecked: true }, // a malformed sum is one of the cases
  );
}

describe('network files are checked against the sha256 in model.json', () => {
  it('every shipped network carries its sum, and it matches', async () => {
    const model = loadModelPackage(DEFAULT_MODEL_DIR);
    for (const network of model.networks) {
      assert.match(network.sha256 ?? '', /^[0-9a-f]{64}$/, `${network.id} has a sha256`);
      await checkNetworkFile(network);
    }
  });

  it('a swapped network file is refused when the network is loaded, naming the file', () =>
    withTempDir(async (dir) => {
      writeTestModel(dir);
      setSums(dir, sha256);
      // swap one network for the other: a valid ONNX file, just not the one model.json names
      writeFileSync(join(dir, 'bands.onnx'), readFileSync(join(dir, 'bright.onnx')));
      const engine = ParseEngine.load(dir, { threads: 1 });
      try {
        await assert.rejects(engine.segment(makePhantomCt(), 'kidney'), (error: unknown) => {
          assert.ok(error instanceof MedparseError);
          assert.equal(error.code, 'CORRUPT_FILE');
          assert.match(error.message, /bands\.onnx: network .*sha256 .* swapped or damaged/);
          return true;
        });
      } finally {
        await engine.dispose();
      }
    }));

  it('a malformed sum in model.json is a clear package error', () =>
    withTempDir(async (dir) => {
      writeTestModel(dir);
      setSums(dir, () => 'abc');
      assert.throws(() => loadModelPackage(dir), /networks\[0\]\.sha256 is "abc"; expected 64 hexadecimal digits/);
    }));
});
