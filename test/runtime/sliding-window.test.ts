import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openNetwork } from '../../src/runtime/onnx-session.js';
import { backgroundValue } from '../../src/runtime/preprocess.js';
import { contentBox, slidingWindowInference, windowStarts } from '../../src/runtime/sliding-window.js';
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
        const image = volumeOf([10, 12, 20], diagonalAffine([1, 1, 1]), new Float32Array(2400).fill(1));
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

describe('slidingWindowInference over the content only', () => {
  /** A 40^3 background image (0) with the value -3 in the block `lo..hi` on every axis. */
  function blockImage(lo: number, hi: number) {
    const data = new Float32Array(40 ** 3);
    for (let z = lo; z <= hi; z++)
      for (let y = lo; y <= hi; y++) for (let x = lo; x <= hi; x++) data[x + 40 * (y + 40 * z)] = -3;
    return volumeOf([40, 40, 40], diagonalAffine([1, 1, 1]), data);
  }

  it('finds the box around everything that is not background', () => {
    assert.deepEqual(contentBox(blockImage(5, 14), 0), { lo: [5, 5, 5], hi: [14, 14, 14] });
    assert.equal(contentBox(blockImage(5, 14), -3)?.lo.join(), '0,0,0');
    assert.equal(contentBox(volumeOf([4, 4, 4], diagonalAffine([1, 1, 1]), new Float32Array(64)), 0), undefined);
  });

  it('runs one window centred on a small object instead of covering the whole image', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'band.onnx');
      writeFileSync(path, bandNetwork([-3], [0.5]));
      const session = await openNetwork(path, { threads: 1 });
      try {
        const small = await slidingWindowInference(blockImage(5, 14), [16, 16, 16], session, [0], { padValue: 0 });
        assert.equal(small.patches, 1);
        const inside = 10 + 40 * (10 + 40 * 10);
        assert.ok(small.probabilities[0][inside] > 0.99, `inside ${small.probabilities[0][inside]}`);
        assert.equal(small.probabilities[0][39 + 40 * (39 + 40 * 39)], 0);
        // content reaching every side: the windows are those over the whole image, as before
        const everywhere = await slidingWindowInference(blockImage(0, 39), [16, 16, 16], session, [0], { padValue: 0 });
        assert.equal(everywhere.patches, windowStarts(40, 16, 0.5).length ** 3);
        // other windows, other Gaussian blending: the same answer to within rounding
        assert.ok(Math.abs(everywhere.probabilities[0][inside] - small.probabilities[0][inside]) < 1e-5);
      } finally {
        await session.dispose();
      }
    }));
});

describe('slidingWindowInference on a scan with no content', () => {
  /** A grid of background only (0, the pad value): nothing for the windows to cover. */
  const blank = (dims: [number, number, number]) =>
    volumeOf(dims, diagonalAffine([1, 1, 1]), new Float32Array(dims[0] * dims[1] * dims[2]));

  async function runBlank(dims: [number, number, number]) {
    return withTempDir(async (dir) => {
      // fires on -3 only: a blank scan of 0 must be answered absent everywhere
      const path = join(dir, 'band.onnx');
      writeFileSync(path, bandNetwork([-3], [0.5]));
      const session = await openNetwork(path, { threads: 1 });
      try {
        return await slidingWindowInference(blank(dims), [16, 16, 16], session, [0], { padValue: 0 });
      } finally {
        await session.dispose();
      }
    });
  }

  it('runs one window, at the origin, and answers every voxel of a larger grid absent (0 outside it)', async () => {
    assert.equal(contentBox(blank([40, 36, 20]), 0), undefined);
    const result = await runBlank([40, 36, 20]);
    // one window gives the presence decision its evidence: the network's own logit, not -Infinity
    assert.equal(result.patches, 1);
    assert.equal(result.presenceLogits[0], 20 * (0.5 - 3));
    const probabilities = result.probabilities[0];
    assert.equal(probabilities.length, 40 * 36 * 20);
    assert.ok(probabilities.every((p) => p >= 0 && p < 0.5));
    // inside the window at the origin, the network's answer; beyond it, nothing ran: 0
    assert.ok(probabilities[0] > 0, `origin ${probabilities[0]}`);
    assert.ok(probabilities[15 + 40 * (15 + 36 * 15)] > 0);
    assert.equal(probabilities[16 + 40 * (15 + 36 * 15)], 0);
    assert.equal(probabilities[39 + 40 * (35 + 36 * 19)], 0);
  });

  it('covers the whole of a grid smaller than a patch with that one window', async () => {
    const result = await runBlank([10, 12, 8]);
    assert.equal(result.patches, 1);
    assert.ok(result.presenceLogits[0] < 0);
    const probabilities = result.probabilities[0];
    assert.equal(probabilities.length, 10 * 12 * 8);
    // every voxel answered by the network (none left at the uncovered 0), and absent
    assert.ok(probabilities.every((p) => p > 0 && p < 0.5));
  });
});

describe('slidingWindowInference within a region', () => {
  it('covers only the region (the rest answered 0), with the answer inside unchanged', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'band.onnx');
      writeFileSync(path, bandNetwork([-3], [0.5]));
      const session = await openNetwork(path, { threads: 1 });
      try {
        const image = volumeOf([40, 40, 40], diagonalAffine([1, 1, 1]), new Float32Array(40 ** 3).fill(-3));
        const whole = await slidingWindowInference(image, [16, 16, 16], session, [0], { padValue: 0 });
        const region = { lo: [2, 2, 2] as [number, number, number], hi: [17, 17, 17] as [number, number, number] };
        const focused = await slidingWindowInference(image, [16, 16, 16], session, [0], { padValue: 0, region });
        assert.equal(focused.patches, 1);
        assert.ok(whole.patches > 1);
        const inside = 10 + 40 * (10 + 40 * 10);
        assert.ok(Math.abs(focused.probabilities[0][inside] - whole.probabilities[0][inside]) < 1e-5);
        assert.equal(focused.probabilities[0][39 + 40 * (39 + 40 * 39)], 0);
      } finally {
        await session.dispose();
      }
    }));
});
