import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultThreads, sessionOptions } from '../../src/runtime/onnx-session.js';

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
});
