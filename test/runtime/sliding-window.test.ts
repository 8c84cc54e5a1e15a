import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openNetwork } from '../../src/runtime/onnx-session.js';
import { backgroundValue } from '../../src/runtime/preprocess.js';
import { slidingWindowInference } from '../../src/runtime/sliding-window.js';
import { bandNetwork } from '../helpers/onnx-builder.js';
import { withTempDir } from '../helpers/volumes.js';
import { diagonalAffine, volumeOf } from '../ops/fixtures.js';

describe('backgroundValue', () => {
  it('is air for CT and 0 for z-scored MR', () => {
    assert.equal(backgroundValue({ type: 'ct_clip', lower: -1000, upper: 1000, mean: 0, std: 300 }), -1000 / 300);
    assert.equal(backgroundValue({ type: 'ct_clip', lower: -200, upper: 300, mean: 50, std: 50 }), -5);
    const mr = { type: 'percentile_zscore', lowerPercentile: 0.5, upperPercentile: 99.5, nonzeroOnly: true } as const;
    assert.equal(backgroundValue(mr), 0);
  });
});

describe('slidingWindowInference padding', () => {
  it('fills the patch beyond a small image with the given background value', () =>
    withTempDir(async (dir) => {
      // A band network that fires only on the value -3: the 10^3 image of zeros is padded up to a 16^3
      // patch, so only the padding can make it fire.
      const path = join(dir, 'band.onnx');
      writeFileSync(path, bandNetwork([-3], [0.5]));
      const session = await openNetwork(path, { threads: 1 });
      try {
        const image = volumeOf([10, 10, 10], diagonalAffine([1, 1, 1]), new Float32Array(1000));
        const run = (padValue: number) => slidingWindowInference(image, [16, 16, 16], session, [0], { padValue });
        const airPadded = await run(-3);
        const zeroPadded = await run(0);
        assert.ok(airPadded.presenceLogits[0] > 0, `presence ${airPadded.presenceLogits[0]}`);
        assert.ok(zeroPadded.presenceLogits[0] < 0, `presence ${zeroPadded.presenceLogits[0]}`);
        // the image's own voxels are answered the same either way
        assert.equal(airPadded.probabilities[0].length, 1000);
        assert.deepEqual(airPadded.probabilities[0], zeroPadded.probabilities[0]);
      } finally {
        await session.dispose();
      }
    }));

  it('runs the full training patch around an image smaller than it (as the network was trained)', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'band.onnx');
      writeFileSync(path, bandNetwork([-3], [0.5]));
      const session = await openNetwork(path, { threads: 1 });
      const seen: Array<[number, number, number]> = [];
      const recording = {
        run: (...args: Parameters<typeof session.run>) => {
          seen.push([...args[1]]);
          return session.run(...args);
        },
        dispose: () => session.dispose(),
      };
      try {
        const image = volumeOf([10, 12, 20], diagonalAffine([1, 1, 1]), new Float32Array(2400));
        const result = await slidingWindowInference(image, [32, 32, 16], recording, [0], { padValue: 0 });
        // z (20) is larger than the patch (16): two windows; x and y keep the full 32 though the image is 10 and 12
        assert.deepEqual(seen, [[32, 32, 16]]);
        assert.equal(result.patches, 2);
        assert.equal(result.probabilities[0].length, 2400);
      } finally {
        await recording.dispose();
      }
    }));
});
