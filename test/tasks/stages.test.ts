import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makePhantomCt } from '../../src/core/phantom.js';
import { loadModelPackage, type ModelPackage } from '../../src/runtime/model-package.js';
import { openNetwork } from '../../src/runtime/onnx-session.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { answerPrompts } from '../../src/tasks/stages/answer.js';
import { decodeNetworkOutput } from '../../src/tasks/stages/decode.js';
import { answerKey, decideRows, type QueryAnswers } from '../../src/tasks/stages/decide.js';
import { inferNetwork } from '../../src/tasks/stages/infer.js';
import { planRequest } from '../../src/tasks/stages/plan.js';
import { checkHeaderMemory, prepareVolume } from '../../src/tasks/stages/prepare.js';
import { loadVocabulary, parsePrompts, type Vocabulary } from '../../src/vocab/index.js';
import { writeTestModel } from '../helpers/test-model.js';

const DIMS: [number, number, number] = [64, 64, 32];

describe('the parse stages, composed by hand', () => {
  let modelDir: string;
  let model: ModelPackage;
  let vocabulary: Vocabulary;
  const volume = makePhantomCt({ dims: DIMS });

  before(() => {
    modelDir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-stages-')));
    model = loadModelPackage(modelDir);
    vocabulary = loadVocabulary();
  });
  after(() => rmSync(modelDir, { recursive: true, force: true }));

  it('plans prompts into network queries without touching the networks', () => {
    const prompts = parsePrompts('left kidney, brain, banana', vocabulary);
    const plan = planRequest(volume, prompts, { vocabulary, model });
    assert.equal(plan.modality, 'CT');
    assert.deepEqual(
      plan.prompts.map((p) => p.status),
      ['planned', 'planned', 'unknown'],
    );
    // "left kidney" is one side of the kidney row, "brain" its own row: one CT network, rows 0 and 2
    assert.deepEqual(
      [...plan.queries].map(([network, rows]) => [network.id, rows]),
      [['body-ct', [0, 2]]],
    );
    assert.equal(plan.prompts[0].source?.kind, 'side');
  });

  it('answers a side from the whole only on a whole scan: a crop holds no midline', () => {
    const crop = makePhantomCt({ dims: DIMS, spacing: [1, 1, 1] }); // 64 mm across
    const plan = planRequest(crop, parsePrompts('left kidney, kidney', vocabulary), { vocabulary, model });
    assert.deepEqual(
      plan.prompts.map((p) => p.status),
      ['unsupported', 'planned'],
    );
    assert.match(plan.prompts[0].notes.join(' '), /a crop with no midline to tell the sides apart/);
  });

  it('refuses a request over the memory limit before any network runs, naming the file', () => {
    const prompts = parsePrompts('kidney', vocabulary);
    const plan = planRequest(volume, prompts, { vocabulary, model });
    const named = { ...volume, meta: { ...volume.meta, sourcePath: '/scans/big.nii.gz' } };
    assert.throws(
      () => prepareVolume(named, plan, { memoryLimitGb: 1e-6 }),
      (e: Error & { file?: string }) => /more than the limit/.test(e.message) && e.file === '/scans/big.nii.gz',
    );
    assert.throws(
      () =>
        checkHeaderMemory({ dims: [512, 512, 800], bytesPerVoxel: 2, file: 'x.nii' } as never, { memoryLimitGb: 1 }),
      /needs about 1\.2 GB/,
    );
    assert.equal(prepareVolume(volume, plan, { memoryLimitGb: 64 }).data, volume.data);
  });

  it('composed in order, give exactly the engine answer', async () => {
    const text = 'kidney, left kidney, brain, banana';
    const plan = planRequest(volume, parsePrompts(text, vocabulary), { vocabulary, model });
    const physical = prepareVolume(volume, plan);
    const answers: QueryAnswers = new Map();
    for (const [network, rows] of plan.queries) {
      const session = await openNetwork(network.file, { threads: 1 });
      try {
        const output = await inferNetwork(physical, network, rows, plan.modality, session);
        assert.equal(output.probabilities.length, rows.length);
        assert.equal(output.probabilities[0].length, output.prepared.image.data.length, 'on the working grid');
        const decoded = decodeNetworkOutput(output, physical, plan.modality, { vocabulary });
        assert.equal(decoded[0].probability.length, volume.data.length, 'decoded onto the input grid');
        decideRows(decoded, plan.modality).forEach((a, q) => answers.set(answerKey(network.id, rows[q]), a));
      } finally {
        await session.dispose();
      }
    }
    const byHand = answerPrompts(plan, physical, answers, { vocabulary });

    const engine = ParseEngine.load(modelDir, { threads: 1 });
    try {
      const fromEngine = await engine.segment(volume, text);
      assert.deepEqual(
        byHand.map((r) => [r.text, r.status, r.evidence?.voxels]),
        fromEngine.prompts.map((r) => [r.text, r.status, r.evidence?.voxels]),
      );
      assert.deepEqual(
        byHand.map((r) => r.status),
        ['present', 'present', 'absent', 'unknown'],
      );
      const [kidney, left] = byHand;
      assert.ok(left.evidence!.voxels > 0 && left.evidence!.voxels < kidney.evidence!.voxels);
      assert.deepEqual(byHand[0].probability, fromEngine.prompts[0].probability);
    } finally {
      await engine.dispose();
    }
  });
});
