import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { loadModelPackage } from '../../src/runtime/model-package.js';
import { openNetwork } from '../../src/runtime/onnx-session.js';
import { DEFAULT_MODEL_DIR } from '../../src/core/paths.js';
import { REPO_ROOT } from '../helpers/shared.js';

/** Written by `python -m medparse_train.export` beside each exported network: its input and PyTorch outputs. */
interface ParityFixture {
  onnx: string;
  image_shape: [number, number, number, number, number];
  concept_ids: number[];
  logits_shape: number[];
  logits_max_abs: number;
}

const FIXTURES = join(REPO_ROOT, 'training/fixtures/onnx');

function readFloats(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('shipped model: onnxruntime-node reproduces the PyTorch outputs', () => {
  const shipped = loadModelPackage(DEFAULT_MODEL_DIR);
  const names = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''));

  it('has a parity fixture for every network in model.json', () => {
    assert.deepEqual([...names].sort(), shipped.networks.map((n) => n.id).sort());
  });

  for (const name of names) {
    it(`${name}: logits and presence within 1e-3 of PyTorch (relative to the logit scale)`, async () => {
      const fixture = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as ParityFixture;
      const network = shipped.networks.find((n) => n.id === name);
      assert.ok(network, `${name} is not in model.json`);
      // the fixture was written for the file model.json ships, not an older export
      assert.equal(resolve(REPO_ROOT, fixture.onnx), network.file);
      const [, , z, y, x] = fixture.image_shape;
      const session = await openNetwork(network.file, { threads: 2 });
      try {
        const out = await session.run(
          readFloats(join(FIXTURES, `${name}_image.bin`)),
          [x, y, z],
          1,
          fixture.concept_ids,
        );
        const limit = 1e-3 * Math.max(1, fixture.logits_max_abs / 100);
        const logits = maxAbsDifference(out.logits, readFloats(join(FIXTURES, `${name}_logits.bin`)));
        const presence = maxAbsDifference(out.presence, readFloats(join(FIXTURES, `${name}_presence.bin`)));
        assert.ok(logits <= limit, `logits differ by ${logits} (limit ${limit})`);
        assert.ok(presence <= limit, `presence differs by ${presence} (limit ${limit})`);
      } finally {
        await session.dispose();
      }
    });
  }
});
