/**
 * The answer stage and the label map work inside each mask's box and label its islands once; these
 * tests hold them to the plain whole-volume algorithms they replaced (written out here as references)
 * on random masks with islands, specks, overlaps, ties and a repeated concept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dims3, Volume } from '../../src/core/volume.js';
import { connectedComponents, cropToBox, labelStatistics, removeSmall, tightBox } from '../../src/ops/index.js';
import { mergeLabels } from '../../src/tasks/label-map.js';
import {
  MIN_INSTANCE_VOXELS,
  describeMask,
  withoutSpecksDescribed,
  type MaskDescription,
} from '../../src/tasks/mask-analysis.js';
import { answerMasks } from '../../src/tasks/result-files.js';
import type { ParseResult, PromptResult } from '../../src/tasks/results.js';
import { liesWithin } from '../../src/tasks/overlaps.js';
import { loadVocabulary, type Vocabulary } from '../../src/vocab/index.js';
import { presentPromptResult } from '../helpers/answers.js';
import { random } from '../ops/fixtures.js';

const vocabulary = loadVocabulary();
const DIMS: Dims3 = [37, 29, 17];
const N = DIMS[0] * DIMS[1] * DIMS[2];
const at = (i: number, j: number, k: number) => i + DIMS[0] * (j + DIMS[1] * k);

/** An oblique CT-like image (HU with noise) whose affine is not diagonal, so world positions are not trivial. */
function image(next: () => number): Volume {
  const data = new Int16Array(N);
  for (let i = 0; i < N; i++) data[i] = Math.round(-100 + 300 * next());
  return {
    dims: DIMS,
    affine: [-0.7, 0.02, 0, 120.5, 0.01, -0.7, 0, 98.25, 0, 0, 2.5, 40, 0, 0, 0, 1],
    data,
    meta: { sourceFormat: 'dicom', modality: 'CT' },
  };
}

/**
 * Probabilities (0..255, 0 outside) of a few ellipsoid blobs plus scattered specks of 1 to 12 voxels,
 * some of them touching the blobs; probabilities drawn from a few values so that ties occur.
 */
function blobs(next: () => number, count: number): Uint8Array {
  const data = new Uint8Array(N);
  const levels = [128, 160, 200, 255];
  for (let b = 0; b < count; b++) {
    const centre = DIMS.map((n) => 3 + next() * (n - 6));
    const radius = [2 + next() * 8, 2 + next() * 6, 1 + next() * 4];
    for (let k = 0; k < DIMS[2]; k++)
      for (let j = 0; j < DIMS[1]; j++)
        for (let i = 0; i < DIMS[0]; i++) {
          const d = [(i - centre[0]) / radius[0], (j - centre[1]) / radius[1], (k - centre[2]) / radius[2]];
          if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= 1) data[at(i, j, k)] = levels[Math.floor(next() * 4)];
        }
  }
  for (let s = 0; s < 25; s++) {
    const k = Math.floor(next() * DIMS[2]);
    let [i, j] = [Math.floor(next() * DIMS[0]), Math.floor(next() * DIMS[1])];
    for (let v = Math.floor(next() * 12); v >= 0; v--) {
      data[at(i, j, k)] = levels[Math.floor(next() * 4)];
      i = Math.min(DIMS[0] - 1, Math.max(0, i + Math.round(next() * 2 - 1)));
      j = Math.min(DIMS[1] - 1, Math.max(0, j + Math.round(next() * 2 - 1)));
    }
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// References: the algorithms as they were, on whole volumes.

function toBinary(probability: Uint8Array): Uint8Array {
  return probability.map((p) => (p ? 1 : 0));
}

function referenceWithoutSpecks(probability: Uint8Array, box: number[], volume: Volume) {
  const crop = cropToBox({ ...volume, data: probability }, box as never);
  const binary = toBinary(crop.data as Uint8Array);
  const kept = removeSmall({ ...crop, data: binary }, MIN_INSTANCE_VOXELS, { connectivity: 26 }).data;
  let removed = 0;
  for (let i = 0; i < binary.length; i++) if (binary[i] && !kept[i]) removed++;
  if (removed === 0) return { probability, removed };
  const out = probability.slice();
  const [nx, ny] = crop.dims;
  for (let i = 0; i < binary.length; i++) {
    if (!binary[i] || kept[i]) continue;
    const [ci, cj, ck] = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
    out[box[0] + ci + DIMS[0] * (box[1] + cj + DIMS[1] * (box[2] + ck))] = 0;
  }
  return { probability: out, removed };
}

function referenceDescribeMask(probability: Uint8Array, box: number[], volume: Volume): MaskDescription {
  const image = cropToBox(volume, box as never);
  const mask = cropToBox({ ...volume, data: probability }, box as never);
  const binary = { ...mask, data: toBinary(mask.data as Uint8Array) };
  const found = labelStatistics(binary, image).find((s) => s.label === 1);
  if (!found) return { statistics: undefined, instances: [], bestSlice: null };
  const components = connectedComponents(binary, { connectivity: 26 });
  const shift = (b: number[]) => b.map((v, n) => v + box[n % 3]) as never;
  const instances = labelStatistics({ ...mask, data: components.labels }, mask)
    .filter((s) => s.voxels >= MIN_INSTANCE_VOXELS)
    .map((s) => ({
      id: 0,
      voxels: s.voxels,
      volumeMl: s.volumeMl,
      boxVoxels: shift(s.boxVoxels),
      boxWorld: s.boxWorld,
      centroidWorld: s.centroidWorld,
      meanProbability: (s.intensity?.mean ?? 0) / 255,
    }))
    .sort((a, b) => b.meanProbability - a.meanProbability || b.voxels - a.voxels)
    .map((instance, n) => ({ ...instance, id: n + 1 }));
  const statistics = { ...found, boxVoxels: shift(found.boxVoxels), centroidVoxel: shift(found.centroidVoxel) };
  // the axial slice (k: this affine's superior axis) with the most voxels
  const [nx, ny, nz] = binary.dims;
  const counts = new Float64Array(nz);
  for (let i = 0; i < binary.data.length; i++) if (binary.data[i]) counts[Math.floor(i / (nx * ny))]++;
  let best = 0;
  for (let n = 1; n < nz; n++) if (counts[n] > counts[best]) best = n;
  return { statistics, instances, bestSlice: { axis: 2, index: best + box[2] } };
}

/** The label map painted as it was: full-volume winner depth, probability and (float32) score. */
function referenceLabels(present: PromptResult[], values: Map<PromptResult, number>, vocab: Vocabulary): Uint8Array {
  const concepts = present.map((p) => vocab.require(p.concept?.id ?? ''));
  const depth = concepts.map(
    (inner, a) =>
      concepts.filter((outer, b) => b !== a && outer.id !== inner.id && liesWithin(inner, outer, vocab)).length,
  );
  const data = new Uint8Array(N);
  const winnerDepth = new Int16Array(N).fill(-1);
  const winnerProbability = new Uint8Array(N);
  const winnerScore = new Float32Array(N);
  present.forEach((prompt, a) => {
    const probability = prompt.probability as Uint8Array;
    const score = prompt.score ?? 0;
    for (let i = 0; i < N; i++) {
      const p = probability[i];
      if (!p) continue;
      const better =
        depth[a] > winnerDepth[i] ||
        (depth[a] === winnerDepth[i] &&
          (p > winnerProbability[i] || (p === winnerProbability[i] && score > winnerScore[i])));
      if (better) {
        winnerDepth[i] = depth[a];
        winnerProbability[i] = p;
        winnerScore[i] = score;
        data[i] = values.get(prompt) as number;
      }
    }
  });
  return data;
}

// ---------------------------------------------------------------------------------------------

/** A present answer; without statistics, as one whose mask a check changed, for the answer stage to describe again. */
function present(
  id: string,
  probability: Uint8Array,
  volume: Volume,
  score: number,
  withStatistics = true,
): PromptResult {
  const answer = presentPromptResult(id, probability, volume, score);
  return withStatistics ? answer : { ...answer, statistics: undefined, instances: undefined };
}

function parseResult(volume: Volume, prompts: PromptResult[]): ParseResult {
  return {
    input: volume,
    modality: 'CT',
    modalitySource: 'metadata',
    model: { name: 'test', version: '0', networks: [] },
    prompts,
    orientationSearch: [],
    timings: {},
  };
}

describe('withoutSpecksDescribed matches withoutSpecks then describeMask on whole crops', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`random blobs and specks, seed ${seed}`, () => {
      const next = random(seed);
      const volume = image(next);
      const probability = blobs(next, 1 + (seed % 4));
      const box = tightBox(probability, DIMS);
      assert.ok(box);
      const expected = referenceWithoutSpecks(probability, box, volume);
      assert.ok(expected.removed > 0 || seed > 3, 'the fixture has specks to remove');
      const got = withoutSpecksDescribed(probability, box, volume);
      assert.equal(got.removed, expected.removed);
      assert.deepEqual(got.probability, expected.probability);
      assert.deepEqual(got.description, referenceDescribeMask(expected.probability, box, volume));
      const raw = withoutSpecksDescribed(probability, box, volume, { keepSpecks: true });
      assert.deepEqual(raw.description, referenceDescribeMask(probability, box, volume));
      assert.deepEqual(describeMask(probability, box, volume), raw.description);
    });
  }

  it('describes nothing when the mask is only specks, and leaves the input untouched', () => {
    const volume = image(random(9));
    const probability = new Uint8Array(N);
    probability[at(3, 3, 3)] = 200;
    probability[at(20, 10, 5)] = 200;
    const copy = probability.slice();
    const got = withoutSpecksDescribed(probability, tightBox(probability, DIMS), volume);
    assert.equal(got.removed, 2);
    assert.equal(
      got.probability.some((p) => p !== 0),
      false,
    );
    assert.deepEqual(got.description, { statistics: undefined, instances: [], bestSlice: null });
    assert.deepEqual(probability, copy);
  });
});

describe('mergeLabels and answerMasks match the whole-volume painting', () => {
  it('makes an empty label map when no answer is present', () => {
    const volume = image(random(21));
    const absent: PromptResult = { ...present('liver', blobs(random(22), 1), volume, 0.9), status: 'absent' };
    delete absent.probability;
    const merged = mergeLabels(parseResult(volume, [absent]), vocabulary);
    assert.equal(merged.table.labels.length, 0);
    assert.equal(
      merged.labels.data.some((v) => v !== 0),
      false,
    );
    assert.deepEqual(answerMasks(parseResult(volume, [absent])), []);
  });

  for (const seed of [11, 12, 14, 15]) {
    it(`nested, overlapping and repeated answers, seed ${seed}`, () => {
      const next = random(seed);
      const volume = image(next);
      // kidney and its left side (nested), the liver overlapping both, the liver asked twice (one label),
      // one answer without statistics; scores tie on purpose (0.9 is no float32, 0.75 is: both ways)
      const prompts = [
        present('kidney', blobs(next, 4), volume, 0.9),
        present('kidney_left', blobs(next, 2), volume, 0.8),
        present('liver', blobs(next, 5), volume, 0.75),
        present('liver', blobs(next, 3), volume, 0.95, seed % 2 === 0),
        present('spleen', blobs(next, 4), volume, 0.75, false),
      ];
      const ties = prompts[2].probability?.filter((p, i) => p > 0 && p === prompts[4].probability?.[i]).length;
      assert.ok(ties && ties > 0, 'two answers tie on depth, probability and score somewhere');
      const result = parseResult(volume, prompts);
      const merged = mergeLabels(result, vocabulary);
      assert.deepEqual(merged.labels.data, referenceLabels(prompts, merged.values, vocabulary));
      for (const prompt of prompts) {
        const share = merged.shares.get(prompt);
        assert.ok(share);
        const probability = prompt.probability as Uint8Array;
        const labels = merged.labels.data as Uint8Array;
        const count = (test: (i: number) => boolean) => labels.reduce((n, _, i) => n + (test(i) ? 1 : 0), 0);
        assert.equal(
          share.maskVoxels,
          count((i) => probability[i] > 0),
        );
        assert.equal(
          share.labelVoxels,
          count((i) => labels[i] === share.value),
        );
        for (const other of share.inOtherLabels)
          assert.equal(
            other.voxels,
            count((i) => probability[i] > 0 && labels[i] === other.value),
          );
      }
      for (const { prompt, mask } of answerMasks(result))
        assert.deepEqual(mask.data, toBinary(prompt.probability as Uint8Array));
    });
  }
});
