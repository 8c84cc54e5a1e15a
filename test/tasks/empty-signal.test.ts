import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ParseEngine } from '../../src/tasks/engine.js';
import { decidePresence, type PresenceEvidence } from '../../src/tasks/presence.js';
import { bandNetwork } from '../helpers/onnx-builder.js';
import { writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';
import { diagonalAffine, volumeOf } from '../ops/fixtures.js';

const evidence: PresenceEvidence = {
  voxels: 500,
  volumeMl: 40,
  presenceLogit: 5,
  meanProbability: 0.9,
  meanIntensity: 0.6,
};

describe('masks on voxels without signal', () => {
  it('are absent when more than half of the mask has no signal, and only then', () => {
    const empty = decidePresence({ ...evidence, emptyFraction: 0.8 }, undefined);
    assert.equal(empty.status, 'absent');
    assert.deepEqual(empty.reasons, ['80 % of the mask lies where the image has no signal (value 0)']);
    for (const emptyFraction of [undefined, 0, 0.5])
      assert.equal(decidePresence({ ...evidence, emptyFraction }, undefined).status, 'present', `${emptyFraction}`);
  });

  it("reject an MR network's mask that lies on the zeros around the tissue", () =>
    withTempDir(async (dir) => {
      // The test model's MR network, changed to fire where the normalised image is near 0: on the zeros
      // (z-score normalisation over nonzero voxels leaves them at 0) and on nothing else.
      writeTestModel(dir);
      writeFileSync(join(dir, 'bright.onnx'), bandNetwork([0], [0.25]));
      const volume = volumeOf([32, 32, 32], diagonalAffine([2, 2, 2]), new Float32Array(32 ** 3));
      // tissue in the lower half, at two values whose z-scores are -1 and 1; zeros above
      for (let i = 0; i < volume.data.length / 2; i++) volume.data[i] = i % 2 ? 100 : 300;
      const engine = ParseEngine.load(dir, { experimental: true });
      try {
        const answer = (await engine.segment(volume, 'hippocampus', { modality: 'MR' })).prompts[0];
        assert.equal(answer.status, 'absent');
        assert.ok(answer.evidence && answer.evidence.voxels > 0, 'the network did answer on the zeros');
        assert.ok(
          answer.evidence.reasons.some((r) => /lies where the image has no signal/.test(r)),
          answer.evidence.reasons.join(' | '),
        );
      } finally {
        await engine.dispose();
      }
      // The same network with zeros counted in the normalisation (nonzero_only false) is not judged so.
      const path = join(dir, 'model.json');
      const manifest = JSON.parse(readFileSync(path, 'utf8'));
      manifest.networks[1].input.normalization.MR.nonzero_only = false;
      writeFileSync(path, JSON.stringify(manifest));
      const plain = ParseEngine.load(dir);
      try {
        const answer = (await plain.segment(volume, 'hippocampus', { modality: 'MR' })).prompts[0];
        assert.ok(!answer.evidence?.reasons.some((r) => /no signal/.test(r)), answer.evidence?.reasons.join(' | '));
      } finally {
        await plain.dispose();
      }
    }));
});
