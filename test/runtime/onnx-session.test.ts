import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultThreads, openNetwork, sessionOptions } from '../../src/runtime/onnx-session.js';
import { bandNetwork } from '../helpers/onnx-builder.js';
import { withTempDir } from '../helpers/volumes.js';

describe('sessionOptions', () => {
  it('lets idle threads sleep instead of spinning, so other workers keep their cores', () => {
    const options = sessionOptions({ threads: 2 });
    assert.deepEqual(options.extra, { session: { intra_op: { allow_spinning: '0' } } });
    assert.equal(options.intraOpNumThreads, 2);
    assert.equal(options.interOpNumThreads, 1);
    assert.deepEqual(options.executionProviders, ['cpu']);
  });

  it('uses the cores the machine has (at most 8) unless told, and the asked-for provider', () => {
    assert.equal(sessionOptions().intraOpNumThreads, defaultThreads());
    assert.ok(defaultThreads() >= 1 && defaultThreads() <= 8);
    assert.deepEqual(sessionOptions({ device: 'cuda' }).executionProviders, ['cuda']);
  });

  it('is accepted by onnxruntime-node: a network opens and runs with it', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'band.onnx');
      writeFileSync(path, bandNetwork([-3], [0.5]));
      const session = await openNetwork(path, { threads: 1 });
      try {
        const patch = new Float32Array(8 * 8 * 8).fill(-3);
        const { logits, presence } = await session.run(patch, [8, 8, 8], 1, [0]);
        assert.equal(logits.length, 512);
        assert.equal(presence.length, 1);
      } finally {
        await session.dispose();
      }
    }));
});
