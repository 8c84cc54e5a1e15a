import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { axisMapping, sliceStackMapping } from '../../src/core/orientation.js';
import { makePhantomCt } from '../../src/core/phantom.js';
import type { Dims3, Volume } from '../../src/core/volume.js';
import { permuteAxes } from '../../src/ops/reorient.js';
import {
  describeFlips,
  flipCombinations,
  flipped,
  centralProbe,
  flipRegion,
  focusRegion,
  maskConfidence,
  searchFlips,
} from '../../src/runtime/flip-search.js';
import { loadModelPackage } from '../../src/runtime/model-package.js';
import { openNetwork } from '../../src/runtime/onnx-session.js';
import { prepareInput } from '../../src/runtime/preprocess.js';
import type { ContentBox, SlidingWindowResult } from '../../src/runtime/sliding-window.js';
import { runCli } from '../../src/cli/main.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { inferNetwork } from '../../src/tasks/stages/infer.js';
import { writeResults } from '../../src/tasks/output-folder.js';
import { readReport } from '../../src/tasks/report.js';
import { editModelManifest, writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';

/** Voxel axis 0 is 8 mm thick and lies nearest world x (R); axes 1, 2 (1.4 mm) lie nearest A and S. */
function obliqueStackAffine(): number[] {
  // columns: 8 * (0.8, 0, -0.6), 1.4 * (0, 1, 0), 1.4 * (0.6, 0, 0.8) (the same case as training/tests)
  return [6.4, 0, 0.84, 10, 0, 1.4, 0, -20, -4.8, 0, 1.12, 30, 0, 0, 0, 1];
}

/** A 4x4x8 stack whose values decrease along z, as a slice order a network did not learn. */
function decreasingStack(): Volume {
  return {
    dims: [4, 4, 8],
    affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    data: Float32Array.from({ length: 128 }, (_, i) => 100 - Math.floor(i / 16)),
    meta: { sourceFormat: 'generated', modality: 'MR' },
  };
}

describe('slice stacks: the thick axis is the working z (input.slice_axis "thickest")', () => {
  it('moves a clear slice axis to world S-I, trading places with the axis that was', () => {
    const affine = obliqueStackAffine();
    assert.deepEqual(axisMapping(affine), { worldAxis: [0, 1, 2], sign: [1, 1, 1] });
    // the slice axis points inferior (its S cosine is -0.6); the displaced in-plane axis right (0.6)
    assert.deepEqual(sliceStackMapping(affine), { worldAxis: [2, 1, 0], sign: [-1, 1, 1] });
  });

  it('keeps the nearest mapping when no axis is 1.5 times thicker than both others', () => {
    const affine = obliqueStackAffine();
    for (const c of [0, 4, 8]) affine[c] /= 4; // 2 mm against 1.4 mm
    assert.deepEqual(sliceStackMapping(affine), axisMapping(affine));
  });

  it('gives a network the stack with its slices along z, and masks back on the exact input grid', async () => {
    // the phantom (2.5 x 2.5 x 4 mm) stored with its 4 mm axis first, lying along world x
    const phantom = makePhantomCt({ dims: [64, 64, 32] });
    const [nx, ny, nz] = phantom.dims;
    const data = new Int16Array(phantom.data.length);
    permuteAxes(phantom.data, phantom.dims, data, [2, 0, 1], [false, false, false]);
    const stored: Volume = {
      ...phantom,
      dims: [nz, nx, ny],
      data,
      affine: [4, 0, 0, 0, 0, -2.5, 0, 0, 0, 0, 2.5, 0, 0, 0, 0, 1],
    };
    const dir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
    try {
      const plainEngine = ParseEngine.load(dir, { threads: 1 });
      const plain = (await plainEngine.segment(stored, 'kidneys')).prompts[0];
      await plainEngine.dispose();
      editModelManifest(dir, (manifest) => (manifest.networks[0].input.slice_axis = 'thickest'));
      const network = loadModelPackage(dir).networks[0];
      assert.equal(network.sliceAxis, 'thickest');
      const prepared = prepareInput(stored, network, 'CT');
      assert.deepEqual(prepared.image.dims, [64, 64, 32], 'slices along z at their own 4 mm: no resampling');
      const engine = ParseEngine.load(dir, { threads: 1 });
      const stack = (await engine.segment(stored, 'kidneys')).prompts[0];
      await engine.dispose();
      // the same kidneys, unpermuted, as the phantom in its own order gives them
      const reference = ParseEngine.load(dir, { threads: 1 });
      const direct = (await reference.segment(phantom, 'kidneys')).prompts[0];
      await reference.dispose();
      const back = new Uint8Array(direct.probability?.length ?? 0);
      permuteAxes(stack.probability as Uint8Array, stored.dims, back, [1, 2, 0], [false, false, false]);
      assert.ok((direct.evidence?.voxels ?? 0) > 100);
      assert.deepEqual(back, direct.probability, 'working on the stack as slices is exact');
      // the nearest mapping put the 4 mm axis along x and resampled it to 2.5 mm: not exact
      assert.notDeepEqual(plain.probability, stack.probability);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('orientation search (input.flip_search)', () => {
  it('names an orientation by the axes it flips', () => {
    assert.equal(describeFlips([false, false, false]), 'as given');
    assert.equal(describeFlips([true, false, true]), 'flipped x, z');
  });

  it('lists every combination of flips, the unflipped one first', () => {
    assert.deepEqual(flipCombinations([]), [[false, false, false]]);
    assert.deepEqual(flipCombinations([0, 2]), [
      [false, false, false],
      [true, false, false],
      [false, false, true],
      [true, false, true],
    ]);
  });

  it('flips exactly, and back', () => {
    const dims: Dims3 = [3, 2, 2];
    const data = Float32Array.from({ length: 12 }, (_, i) => i);
    const once = flipped(data, dims, [false, false, true]);
    assert.deepEqual([...once.subarray(0, 6)], [6, 7, 8, 9, 10, 11]);
    assert.deepEqual(flipped(once, dims, [false, false, true]), data);
  });

  it('scores masks by their mean probability, an empty mask as 0', () => {
    const sure = Float32Array.from([0.9, 1.0, 0.1, 0]);
    const empty = Float32Array.from([0.2, 0.4, 0.1, 0]);
    assert.ok(Math.abs(maskConfidence([sure]) - 0.95) < 1e-6);
    assert.ok(Math.abs(maskConfidence([sure, empty]) - 0.475) < 1e-6);
  });

  it('keeps the orientation the network is surest of, its maps mapped back onto the unflipped image', async () => {
    // a network that is sure only where the image increases along z, as a slice order it learnt
    const dims: Dims3 = [2, 2, 4];
    const image: Volume = {
      dims,
      affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
      data: Float32Array.from({ length: 16 }, (_, i) => 10 - Math.floor(i / 4)), // decreasing along z
      meta: { sourceFormat: 'generated', modality: 'MR' },
    };
    const seen: number[][] = [];
    const infer = async (input: Volume): Promise<SlidingWindowResult> => {
      const values = input.data as Float32Array;
      seen.push([...values]);
      const increasing = values[12] > values[0];
      // a mask on the first slice in the network's own view: the flip back must move it
      const map = Float32Array.from(values, (_, i) => (i < 4 ? (increasing ? 0.99 : 0.6) : 0));
      return { probabilities: [map], presenceLogits: [0], patches: 1 };
    };
    const result = await searchFlips(image, [2], infer, maskConfidence);
    assert.equal(seen.length, 2);
    assert.deepEqual(result.kept.flips, [false, false, true]);
    assert.deepEqual(
      result.trials.map((t) => Number(t.confidence.toFixed(2))),
      [0.6, 0.99],
    );
    // the network's first slice was the image's last
    const map = result.inference.probabilities[0];
    assert.deepEqual(
      [...map.subarray(12)].map((p) => Number(p.toFixed(2))),
      [0.99, 0.99, 0.99, 0.99],
    );
    assert.deepEqual([...map.subarray(0, 12)], new Array(12).fill(0));
  });

  it('keeps the acquired orientation unless another is surer by more than the margin', async () => {
    const image = decreasingStack();
    // the reversed order is surer by 0.004: a near-tie under a margin of 0.005, a lead over one of 0.003
    const infer = async (input: Volume): Promise<SlidingWindowResult> => {
      const values = input.data as Float32Array;
      const increasing = values[values.length - 1] > values[0];
      return {
        probabilities: [Float32Array.from(values, () => (increasing ? 0.964 : 0.96))],
        presenceLogits: [0],
        patches: 1,
      };
    };
    const within = await searchFlips(image, [2], infer, maskConfidence, { margin: 0.005 });
    assert.equal(describeFlips(within.kept.flips), 'as given');
    assert.equal(within.trials.length, 2, 'both orientations are still tried and reported');
    assert.ok(
      within.inference.probabilities[0].every((p) => Math.abs(p - 0.96) < 1e-6),
      "the acquired run's maps",
    );
    const beyond = await searchFlips(image, [2], infer, maskConfidence, { margin: 0.003 });
    assert.equal(describeFlips(beyond.kept.flips), 'flipped z');
    const none = await searchFlips(image, [2], infer, maskConfidence);
    assert.equal(describeFlips(none.kept.flips), 'flipped z', 'without a margin the surest is kept');
  });

  it('with a probe, judges every orientation on it and runs the whole image once, in the kept orientation', async () => {
    const image = decreasingStack();
    const probe = centralProbe(image, [2, 2, 4]);
    assert.deepEqual(probe.dims, [2, 2, 4]);
    assert.deepEqual([...probe.data.subarray(0, 4)], [98, 98, 98, 98], 'the centre: slices 2 to 5, rows 1 to 2');
    const runs: Array<{ dims: Dims3; trial: number; increasing: boolean }> = [];
    const infer = async (input: Volume, trial: number): Promise<SlidingWindowResult> => {
      const values = input.data as Float32Array;
      const increasing = values[values.length - 1] > values[0];
      runs.push({ dims: input.dims, trial, increasing });
      return {
        probabilities: [Float32Array.from(values, () => (increasing ? 0.9 : 0.6))],
        presenceLogits: [0],
        patches: 1,
      };
    };
    const result = await searchFlips(image, [2], infer, maskConfidence, { probe });
    assert.deepEqual(
      runs.map((r) => [r.dims.join('x'), r.trial, r.increasing]),
      [
        ['2x2x4', 0, false],
        ['2x2x4', 1, true],
        ['4x4x8', 2, true],
      ],
    );
    assert.deepEqual(result.kept.flips, [false, false, true]);
    assert.equal(result.inference.probabilities[0].length, 128, 'the whole image is answered');
  });

  it('leaves an orientation-blind network answering exactly as without the search, and reports it', async () => {
    const phantom = makePhantomCt({ dims: [64, 64, 32] });
    const dir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
    try {
      const plainEngine = ParseEngine.load(dir, { threads: 1 });
      const plainResult = await plainEngine.segment(phantom, 'kidneys');
      const plain = plainResult.prompts[0];
      await plainEngine.dispose();
      assert.deepEqual(plainResult.orientationSearch, []);
      editModelManifest(dir, (manifest) => (manifest.networks[0].input.flip_search = ['x', 'z']));
      const messages: string[] = [];
      const engine = ParseEngine.load(dir, { threads: 1, onProgress: (e) => messages.push(e.message ?? '') });
      const result = await engine.segment(phantom, 'kidneys');
      const searched = result.prompts[0];
      await engine.dispose();
      // every orientation is as sure as the others (to float rounding, so any may be kept)
      const [search] = result.orientationSearch;
      assert.equal(search.network, 'body-ct');
      assert.ok(search.tried.some((t) => t.orientation === search.kept));
      assert.deepEqual(
        search.tried.map((t) => t.orientation),
        ['as given', 'flipped x', 'flipped z', 'flipped x, z'],
      );
      assert.ok(search.tried.every((t) => Math.abs(t.confidence - search.tried[0].confidence) < 1e-6));
      assert.ok(search.tried[0].confidence > 0, `confidence ${search.tried[0].confidence}`);
      await withTempDir(async (out) => {
        await writeResults(out, result, engine.vocabulary, {
          task: 'segment',
          medparseVersion: 'test',
          preview: false,
        });
        const report = readReport(out);
        assert.equal(report.orientation_search?.[0].kept, search.kept);
        assert.equal(report.orientation_search?.[0].tried.length, 4);
      });
      assert.ok(
        messages.some((m) => m.includes('orientation 4 of 4')),
        'progress names the orientations',
      );
      assert.equal(searched.evidence?.voxels, plain.evidence?.voxels);
      assert.deepEqual(
        Uint8Array.from(searched.probability ?? [], (p) => (p ? 1 : 0)),
        Uint8Array.from(plain.probability ?? [], (p) => (p ? 1 : 0)),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("judges the orientations on every row of the network, so what else was asked cannot tip the scan's orientation", async () => {
    const phantom = makePhantomCt({ dims: [64, 64, 32] });
    const dir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
    try {
      editModelManifest(dir, (manifest) => (manifest.networks[0].input.flip_search = ['z']));
      const engine = ParseEngine.load(dir, { threads: 1 });
      const alone = await engine.segment(phantom, 'kidney');
      const withOthers = await engine.segment(phantom, 'kidney, spine');
      await engine.dispose();
      const confidences = (r: typeof alone) => r.orientationSearch[0].tried.map((t) => t.confidence);
      // judged on the prompted rows only, the kidney alone (0.95) is surer than the mean with the spine
      assert.deepEqual(confidences(alone), confidences(withOthers));
      assert.equal(alone.orientationSearch[0].kept, withOthers.orientationSearch[0].kept);
      assert.deepEqual(alone.prompts[0].probability, withOthers.prompts[0].probability);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs every window of the search alone, the full pass too, whatever batch size was asked', async () => {
    // a probe is one window, and onnxruntime plans its memory anew for each input shape: one shape throughout
    const dir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
    try {
      editModelManifest(dir, (manifest) => (manifest.networks[0].input.flip_search = ['x', 'z']));
      const network = loadModelPackage(dir).networks[0];
      const session = await openNetwork(network.file, { threads: 1 });
      const batches: number[] = [];
      const recording = {
        run: (...args: Parameters<typeof session.run>) => {
          batches.push(args[2]);
          return session.run(...args);
        },
        dispose: () => session.dispose(),
      };
      try {
        await inferNetwork(makePhantomCt({ dims: [96, 96, 48] }), network, [0], 'CT', recording, { batchSize: 2 });
      } finally {
        await session.dispose();
      }
      assert.ok(batches.length > 4 + 1, `${batches.length} calls: 4 probes and a full pass of several windows`);
      assert.deepEqual([...new Set(batches)], [1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is named by medparse models', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medparse-models-'));
    try {
      const dir = writeTestModel(join(root, 'package'));
      editModelManifest(dir, (manifest) =>
        Object.assign(manifest.networks[0].input, { slice_axis: 'thickest', flip_search: ['x', 'z'] }),
      );
      let out = '';
      const code = await runCli(['models', '--dir', root], {
        stdout: (s) => (out += s + '\n'),
        stderr: () => undefined,
      });
      assert.equal(code, 0);
      assert.match(
        out,
        /body-ct: .*\n {4}takes a stack of thick slices with its slices along z; runs in 4 orientations \(flipped along x, z\) and keeps the surest\n {2}bright-mr/,
      );
      let json = '';
      await runCli(['models', '--dir', root, '--json'], { stdout: (s) => (json += s), stderr: () => undefined });
      const [listed] = JSON.parse(json) as Array<{ networks: Array<{ slice_axis: string; flip_search: string[] }> }>;
      assert.equal(listed.networks[0].slice_axis, 'thickest');
      assert.deepEqual(listed.networks[0].flip_search, ['x', 'z'], 'axes named as model.json names them');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('counts the maps it holds at once in the memory estimate', async () => {
    // large enough for the estimate (stated to 0.1 GB) to show the difference; refused before any work
    const phantom = makePhantomCt({ dims: [256, 256, 128] });
    const dir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
    try {
      const neededGb = async () => {
        // a limit no request meets: the refusal states the estimate
        const engine = ParseEngine.load(dir, { threads: 1, memoryLimitGb: 1e-9 });
        try {
          await engine.segment(phantom, 'kidneys, vertebral column, brain');
          return assert.fail('refused');
        } catch (error) {
          const match = /needs about ([0-9.]+) GB/.exec((error as Error).message);
          return Number(match?.[1]);
        } finally {
          await engine.dispose();
        }
      };
      const plain = await neededGb();
      editModelManifest(dir, (manifest) => (manifest.networks[0].input.flip_search = ['z']));
      assert.ok((await neededGb()) > plain, 'the search needs more');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a flip_search that names an unknown or repeated axis', () => {
    const dir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
    try {
      const setInput = (fields: Record<string, unknown>) =>
        editModelManifest(dir, (manifest) => Object.assign(manifest.networks[0].input, fields), { unchecked: true });
      for (const [value, problem] of [
        [['x', 'w'], /flip_search\[1\] is "w"; expected one of "x", "y", "z"/],
        [['z', 'z'], /flip_search names the same item twice/],
      ] as const) {
        setInput({ flip_search: value });
        assert.throws(() => loadModelPackage(dir), problem);
      }
      setInput({ flip_search: [], slice_axis: 'widest' });
      assert.throws(() => loadModelPackage(dir), /slice_axis is "widest"; expected one of "nearest", "thickest"/);
      setInput({ slice_axis: 'nearest', flip_search_margin: -0.1 });
      assert.throws(() => loadModelPackage(dir), /flip_search_margin/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the full pass focused on what the probe found', () => {
  /** A map the size of a probe `size` with the voxels of box `lo..hi` (probe coordinates) at 0.9. */
  function probeMap(size: Dims3, lo: Dims3, hi: Dims3): Float32Array {
    const map = new Float32Array(size[0] * size[1] * size[2]);
    for (let z = lo[2]; z <= hi[2]; z++)
      for (let y = lo[1]; y <= hi[1]; y++)
        for (let x = lo[0]; x <= hi[0]; x++) map[x + size[0] * (y + size[1] * z)] = 0.9;
    return map;
  }

  it('is the box around the masks plus the margin, in image voxels, clamped to the image', () => {
    // a 100x100x20 image, a 40x40x8 probe at (30, 30, 6); masks at probe voxels 10..19, 12..21, 2..5
    const map = probeMap([40, 40, 8], [10, 12, 2], [19, 21, 5]);
    assert.deepEqual(focusRegion([map], [100, 100, 20], [40, 40, 8], [5, 5, 1]), {
      lo: [35, 37, 7],
      hi: [54, 56, 12],
    });
    // a margin beyond the image stops at its edge
    assert.deepEqual(focusRegion([map], [100, 100, 20], [40, 40, 8], [50, 50, 50]), {
      lo: [0, 0, 0],
      hi: [99, 99, 19],
    });
    // nothing found: no focus, the whole image runs
    assert.equal(focusRegion([new Float32Array(40 * 40 * 8)], [100, 100, 20], [40, 40, 8], [5, 5, 1]), undefined);
  });

  it("reaches the image's edge where the masks touch the probe's edge, since the object may go on", () => {
    // the mask touches the probe's low x side and its high z side
    const map = probeMap([40, 40, 8], [0, 12, 2], [19, 21, 7]);
    assert.deepEqual(focusRegion([map], [100, 100, 20], [40, 40, 8], [5, 5, 1]), {
      lo: [0, 37, 7],
      hi: [54, 56, 19],
    });
    // a probe as large as the image along an axis has no unseen beyond: the box and margin hold there
    const whole = probeMap([40, 40, 8], [0, 12, 2], [19, 21, 5]);
    assert.deepEqual(focusRegion([whole], [40, 100, 20], [40, 40, 8], [5, 5, 1])?.lo, [0, 37, 7]);
  });

  it('is mirrored along the flipped axes', () => {
    const region: ContentBox = { lo: [2, 3, 4], hi: [5, 6, 7] };
    assert.deepEqual(flipRegion(region, [10, 10, 10], [true, false, true]), { lo: [4, 3, 2], hi: [7, 6, 5] });
    assert.deepEqual(
      flipRegion(flipRegion(region, [10, 10, 10], [true, true, true]), [10, 10, 10], [true, true, true]),
      region,
    );
  });

  it('gives the kept orientation its region, in the coordinates of the flipped image it runs on', async () => {
    const image = decreasingStack();
    const probe = centralProbe(image, [2, 2, 4]);
    const regions: Array<ContentBox | undefined> = [];
    const infer = async (input: Volume, _trial: number, _of: number, region?: ContentBox) => {
      const values = input.data as Float32Array;
      regions.push(region);
      const increasing = values[values.length - 1] > values[0];
      return {
        probabilities: [Float32Array.from(values, () => (increasing ? 0.9 : 0.6))],
        presenceLogits: [0],
        patches: 1,
      };
    };
    const focus = (): ContentBox => ({ lo: [0, 0, 1], hi: [3, 3, 2] });
    const result = await searchFlips(image, [2], infer, maskConfidence, { probe, focus });
    assert.deepEqual(result.kept.flips, [false, false, true]);
    // probes run unfocused; the full pass on the z-flipped image gets slices 1..2 as slices 5..6
    assert.deepEqual(regions, [undefined, undefined, { lo: [0, 0, 5], hi: [3, 3, 6] }]);
  });
});
