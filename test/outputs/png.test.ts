import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, encodePng } from '../../src/outputs/png.js';
import { decodePng, PNG_SIGNATURE, pixelAt } from './png-decode.js';

function noiseImage(width: number, height: number, channels: 3 | 4, seed = 3): Uint8Array {
  const pixels = new Uint8Array(width * height * channels);
  let state = seed;
  for (let i = 0; i < pixels.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    pixels[i] = state >> 16;
  }
  return pixels;
}

describe('PNG encoder', () => {
  it('computes the standard CRC-32 check value', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  });

  it('writes the signature, an IHDR describing the image, valid CRCs and IEND last', () => {
    const png = encodePng({ width: 7, height: 3, pixels: noiseImage(7, 3, 3), channels: 3 });
    assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
    const decoded = decodePng(png);
    assert.equal(decoded.chunks[0].type, 'IHDR');
    assert.equal(decoded.chunks[0].length, 13);
    assert.equal(decoded.chunks.at(-1)?.type, 'IEND');
    assert.ok(
      decoded.chunks.every((chunk) => chunk.crcOk),
      JSON.stringify(decoded.chunks),
    );
    assert.deepEqual([decoded.width, decoded.height, decoded.bitDepth, decoded.colorType], [7, 3, 8, 2]);
  });

  it('round-trips RGB and RGBA pixels exactly', () => {
    for (const channels of [3, 4] as const) {
      const pixels = noiseImage(13, 11, channels, channels);
      const decoded = decodePng(encodePng({ width: 13, height: 11, pixels, channels }));
      assert.equal(decoded.channels, channels);
      assert.deepEqual(decoded.pixels, pixels);
    }
  });

  it('keeps a known pixel colour at its place', () => {
    const pixels = new Uint8Array(4 * 2 * 3);
    pixels.set([200, 10, 30], (1 * 4 + 2) * 3); // (x 2, y 1)
    const decoded = decodePng(encodePng({ width: 4, height: 2, pixels, channels: 3 }));
    assert.deepEqual(pixelAt(decoded, 2, 1), [200, 10, 30]);
    assert.deepEqual(pixelAt(decoded, 1, 1), [0, 0, 0]);
  });

  it('refuses pixels that do not match the size', () => {
    assert.throws(() => encodePng({ width: 4, height: 4, pixels: new Uint8Array(10), channels: 3 }), /needs 48/);
    assert.throws(() => encodePng({ width: 0, height: 4, pixels: new Uint8Array(0), channels: 3 }), /positive/);
  });
});
