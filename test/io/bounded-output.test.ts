/**
 * BoundedOutput, the counting every bounded inflation shares (bounded-read.ts, buffer-source.ts,
 * inflate-raw.ts): the first `keep` bytes kept, all output counted against the ceiling.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedOutput } from '../../src/io/bounded-output.js';

const bytes = (from: number, length: number) => Uint8Array.from({ length }, (_, i) => (from + i) % 256);

describe('BoundedOutput', () => {
  it('without a ceiling, keeps the first bytes and says enough once it has them (a header probe)', () => {
    const output = new BoundedOutput(5);
    assert.equal(output.push(bytes(0, 3)), 'more');
    assert.equal(output.push(bytes(3, 4)), 'enough');
    assert.deepEqual(output.bytes(), bytes(0, 5));
    assert.equal(output.total, 7);
  });

  it('with a ceiling, keeps the first bytes but counts on to the end, and refuses past the ceiling', () => {
    const output = new BoundedOutput(4, 10);
    assert.equal(output.push(bytes(0, 6)), 'more');
    assert.equal(output.push(bytes(6, 4)), 'more', 'exactly the ceiling is allowed');
    assert.deepEqual(output.bytes(), bytes(0, 4));
    assert.equal(output.push(bytes(10, 1)), 'over');
    assert.equal(output.total, 11);
  });

  it('hands back one chunk as it came and several copied once, in order', () => {
    const one = new BoundedOutput(8, 100);
    const chunk = bytes(0, 8);
    one.push(chunk);
    assert.equal(one.bytes().buffer, chunk.buffer, 'no copy of a single chunk');
    assert.deepEqual(one.bytes(), chunk);
    const several = new BoundedOutput(9, 100);
    for (let at = 0; at < 12; at += 2) several.push(bytes(at, 2));
    assert.deepEqual(several.bytes(), bytes(0, 9));
  });

  it('keeps nothing when asked for nothing', () => {
    const output = new BoundedOutput(0, 4);
    assert.equal(output.push(bytes(0, 4)), 'more');
    assert.equal(output.bytes().length, 0);
  });
});
