import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makePhantomCt, phantomLabelAt } from '../../src/core/phantom.js';
import type { Volume } from '../../src/core/volume.js';
import { dice } from '../../src/eval/metrics.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import type { ManifestCalibration, ModelManifest } from '../../src/runtime/model-manifest.js';
import { editModelManifest, writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const DIMS: [number, number, number] = [64, 64, 32];

/** The phantom with a bar of bone HU from the spine to the left kidney, at the kidney's centre height. */
function bridgeLeftKidneyToSpine(volume: Volume): Volume {
  const [nx, ny] = volume.dims;
  const data = Int16Array.from(volume.data as Int16Array);
  const [kidneyI, spineI] = [Math.round(0.67 * nx), Math.round(0.5 * nx)];
  const k = Math.round(0.4 * volume.dims[2]);
  for (let i = spineI; i <= kidneyI; i++)
    for (let j = Math.round(0.69 * ny); j <= Math.round(0.71 * ny); j++) data[i + nx * (j + ny * k)] = 700;
  return { ...volume, data };
}

/** Phantom label value of every voxel, the ground truth of the band network. */
function truth(volume: Volume, labels: number[]): Uint8Array {
  const [nx, ny, nz] = volume.dims;
  const out = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++)
        out[i + nx * (j + ny * k)] = labels.includes(phantomLabelAt(i / nx, j / ny, k / nz)) ? 1 : 0;
    }
  }
  return out;
}

describe('ParseEngine with a known-answer network', () => {
  let modelDir: string;
  let engine: ParseEngine;
  const volume = makePhantomCt({ dims: DIMS });

  before(() => {
    modelDir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
    engine = ParseEngine.load(modelDir, { threads: 1 });
  });
  after(async () => {
    await engine.dispose();
    rmSync(modelDir, { recursive: true, force: true });
  });

  it('segments a prompt onto the input grid, matching the known answer', async () => {
    const result = await engine.segment(volume, 'kidneys');
    const [kidneys] = result.prompts;
    assert.equal(kidneys.status, 'present');
    assert.equal(kidneys.concept?.id, 'kidney');
    assert.equal(kidneys.probability?.length, volume.data.length);
    const d = dice(kidneys.probability as Uint8Array, truth(volume, [4, 5]));
    assert.ok(d > 0.98, `Dice ${d}`);
    assert.equal(result.modality, 'CT');
    assert.equal(result.modalitySource, 'metadata');
    // the test model calibrates presence (threshold 0): nothing to warn about
    assert.equal(kidneys.evidence?.calibrated, true);
    assert.doesNotMatch(kidneys.notes.join(' '), /uncalibrated/);
    assert.equal(kidneys.instances?.length, 2);
  });

  it('answers a concept without presence calibration "unsupported", and only --experimental answers it', async () => {
    const dir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')), undefined, { uncalibrated: ['kidney'] });
    const plain = ParseEngine.load(dir, { threads: 1 });
    const experimental = ParseEngine.load(dir, { threads: 1, experimental: true });
    try {
      const [kidneys, spine] = (await plain.segment(volume, 'kidneys, spine')).prompts;
      assert.equal(kidneys.status, 'unsupported');
      assert.equal(kidneys.probability, undefined);
      assert.match(kidneys.notes.join(' '), /no presence calibration for kidney in CT images.*--experimental/);
      assert.equal(spine.status, 'present', 'calibrated concepts are answered as before');
      const [raw] = (await experimental.segment(volume, 'kidneys')).prompts;
      assert.equal(raw.status, 'present');
      assert.equal(raw.evidence?.calibrated, false);
      assert.match(raw.notes.join(' '), /presence is uncalibrated/);
    } finally {
      await plain.dispose();
      await experimental.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops a stray island from an organ unless asked to keep islands', async () => {
    // one voxel of kidney-like HU in the air outside the body: a 1-voxel island beside two kidneys
    const speckled = { ...volume, data: Float32Array.from(volume.data) };
    const speck = 2 + DIMS[0] * (2 + DIMS[1] * 2);
    assert.ok(speckled.data[speck] < -500, 'the corner is air');
    speckled.data[speck] = 150;
    const [cleaned] = (await engine.segment(speckled, 'kidneys')).prompts;
    const raw = ParseEngine.load(modelDir, { threads: 1, keepIslands: true });
    try {
      const [kept] = (await raw.segment(speckled, 'kidneys')).prompts;
      assert.ok((kept.probability?.[speck] ?? 0) > 0);
      assert.equal(cleaned.probability?.[speck], 0);
      assert.equal(kept.evidence?.voxels, (cleaned.evidence?.voxels ?? 0) + 1);
    } finally {
      await raw.dispose();
    }
  });

  it('never answers present with no instance: a mask of specks only is absent, and specks leave every mask', async () => {
    // no kidneys, three single voxels of kidney HU far apart: islands too small to be an object
    const specks = { ...volume, data: Float32Array.from(volume.data, (v) => (v >= 110 && v <= 190 ? 40 : v)) };
    for (const [i, j, k] of [
      [20, 20, 10],
      [40, 30, 12],
      [30, 45, 20],
    ])
      specks.data[i + DIMS[0] * (j + DIMS[1] * k)] = 150;
    const [kidneys] = (await engine.segment(specks, 'kidneys')).prompts;
    assert.equal(kidneys.status, 'absent');
    assert.equal(kidneys.probability, undefined);
    assert.match(
      kidneys.evidence?.reasons.join(' ') ?? '',
      /in islands under 10 voxels each, too small to be an object/,
    );
    // beside real kidneys, a speck is no part of the answer, so the instances make up the whole mask
    const speckled = { ...volume, data: Float32Array.from(volume.data) };
    speckled.data[20 + DIMS[0] * (20 + DIMS[1] * 10)] = 150;
    const [present] = (await engine.segment(speckled, 'kidneys')).prompts;
    assert.equal(present.status, 'present');
    const instanceVoxels = (present.instances ?? []).reduce((n, i) => n + i.voxels, 0);
    assert.equal(present.statistics?.voxels, instanceVoxels);
  });

  /** Runs `use` with an engine on a copy of the test model whose model.json `edit` changed. */
  async function withEditedModel(
    edit: (manifest: ModelManifest) => void,
    use: (edited: ParseEngine) => Promise<void>,
    options: { keepIslands?: boolean } = {},
  ): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'medparse-model-'));
    try {
      cpSync(modelDir, dir, { recursive: true });
      editModelManifest(dir, edit);
      const edited = ParseEngine.load(dir, { threads: 1, ...options });
      try {
        await use(edited);
      } finally {
        await edited.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("keeps only the largest island when the concept's calibration says it is one object", async () => {
    // Wiring only: "kidney" is paired and calibrate never marks it so; here the manifest says it is.
    await withEditedModel(
      (manifest) => {
        manifest.networks[0].concepts[0].calibration = { CT: { single_component: true, presence_threshold: -50 } };
      },
      async (oneIsland) => {
        const [both] = (await engine.segment(volume, 'kidneys')).prompts;
        const [largest] = (await oneIsland.segment(volume, 'kidneys')).prompts;
        assert.equal(both.instances?.length, 2);
        assert.equal(largest.instances?.length, 1);
        assert.equal(largest.evidence?.voxels, Math.max(...(both.instances ?? []).map((i) => i.voxels)));
        assert.equal(largest.evidence?.calibrated, true);
        assert.doesNotMatch(largest.notes.join(' '), /uncalibrated/);
      },
    );
  });

  it("keeps a lesion's small islands unless its calibration found them mostly false, and says what it dropped", async () => {
    // The kidney band answered as "kidney tumour" (a lesion), with a 12-voxel island beside the two kidneys of
    // 121 voxels each (under a tenth of them; islands under 10 voxels are specks, no part of any answer).
    const speckled = { ...volume, data: Float32Array.from(volume.data) };
    const speck = 2 + DIMS[0] * (2 + DIMS[1] * 2);
    for (let k = 2; k < 5; k++)
      for (let j = 2; j < 4; j++) for (let i = 2; i < 4; i++) speckled.data[i + DIMS[0] * (j + DIMS[1] * k)] = 150;
    const asLesion = (calibration: ManifestCalibration) => (manifest: ModelManifest) => {
      manifest.networks[0].concepts[0] = {
        ...manifest.networks[0].concepts[0],
        id: 'kidney_tumor',
        calibration: { CT: calibration },
      };
    };
    let keptVoxels = 0;
    await withEditedModel(asLesion({ presence_threshold: -50 }), async (lesions) => {
      const [kept] = (await lesions.segment(speckled, 'kidney tumour')).prompts;
      assert.equal(kept.concept?.id, 'kidney_tumor');
      assert.ok((kept.probability?.[speck] ?? 0) > 0, 'a lesion keeps its small islands by default');
      assert.doesNotMatch(kept.notes.join(' '), /islands under a tenth/);
      keptVoxels = kept.evidence?.voxels ?? 0;
    });
    await withEditedModel(asLesion({ presence_threshold: -50, drop_minor_islands: true }), async (pruning) => {
      const [pruned] = (await pruning.segment(speckled, 'kidney tumour')).prompts;
      assert.equal(pruned.probability?.[speck], 0);
      assert.equal(pruned.evidence?.voxels, keptVoxels - 12);
      assert.equal(pruned.instances?.length, 2, 'the two kidney-sized islands stay');
      // 12 working voxels of 2.5 x 2.5 x 4 mm
      assert.match(pruned.notes.join(' '), /0\.30 mL in islands under a tenth of the largest was left out/);
    });
    await withEditedModel(
      asLesion({ presence_threshold: -50, drop_minor_islands: true }),
      async (raw) => {
        const [all] = (await raw.segment(speckled, 'kidney tumour')).prompts;
        assert.equal(all.evidence?.voxels, keptVoxels, '--keep-islands wins');
      },
      { keepIslands: true },
    );
  });

  describe('a connected group (kidney and spine as if parts of one organ; a bar joins the left kidney to the spine)', () => {
    const bridged = bridgeLeftKidneyToSpine(volume);
    const group = (manifest: ModelManifest) => {
      manifest.networks[0].connected_groups = [['kidney', 'vertebral_column']];
    };

    it('keeps only the piece of the union that joins them, running the fellow part unasked', async () => {
      await withEditedModel(group, async (grouped) => {
        const [alone] = (await engine.segment(bridged, 'kidneys')).prompts;
        const [joined] = (await grouped.segment(bridged, 'kidneys')).prompts;
        assert.equal(alone.instances?.length, 2);
        assert.equal(joined.instances?.length, 1, 'the right kidney lies apart from the spine and goes');
        const left = dice(joined.probability as Uint8Array, truth(bridged, [5]));
        assert.ok(left > 0.95, `left kidney Dice ${left}`);
        // the answer says what was left out (the right kidney, about 3 mL) and how to keep it
        const note = joined.notes.find((n) => /lay apart/.test(n)) ?? '';
        const leftOut = Number(/^([\d.]+) mL/.exec(note)?.[1]);
        const rightKidneyMl = (alone.evidence?.volumeMl ?? 0) - (joined.evidence?.volumeMl ?? 0);
        assert.ok(Math.abs(leftOut - rightKidneyMl) < 0.1 * rightKidneyMl, `${note} vs ${rightKidneyMl} mL`);
        assert.match(note, /kidney, vertebral column .*--keep-islands/);
        assert.ok(!alone.notes.some((n) => /lay apart/.test(n)));
      });
    });

    it("sums what the parts left out into a union's note", async () => {
      // the two rows renamed into the parts of one union: "ventricles of the heart" = left + right ventricle
      const asVentricles = (manifest: ModelManifest) => {
        const [kidney, spine] = manifest.networks[0].concepts;
        kidney.id = 'heart_ventricle_left';
        spine.id = 'heart_ventricle_right';
        manifest.networks[0].connected_groups = [['heart_ventricle_left', 'heart_ventricle_right']];
      };
      await withEditedModel(asVentricles, async (grouped) => {
        const [ventricles, left] = (await grouped.segment(bridged, 'ventricles of the heart, left ventricle')).prompts;
        assert.equal(ventricles.concept?.id, 'heart_ventricle');
        assert.equal(ventricles.status, 'present');
        const leftOut = (answer: typeof left) =>
          Number(/^([\d.]+) mL of the network's mask lay apart/.exec(answer.notes.join('\n'))?.[1]);
        // only the left ventricle's row (the kidney band) had a piece apart: the union's note carries it
        assert.ok(leftOut(left) > 1, left.notes.join(' | '));
        assert.equal(leftOut(ventricles), leftOut(left));
        assert.match(ventricles.notes.join(' '), /left ventricle of heart, right ventricle of heart/);
      });
    });

    it('is switched off with the islands', async () => {
      await withEditedModel(
        group,
        async (raw) => {
          const [kept] = (await raw.segment(bridged, 'kidneys')).prompts;
          assert.equal(kept.instances?.length, 2);
        },
        { keepIslands: true },
      );
    });
  });

  it('takes one side of an unsided mask in world coordinates', async () => {
    const result = await engine.segment(volume, 'left kidney, right kidney');
    const [left, right] = result.prompts;
    assert.equal(left.status, 'present');
    assert.equal(left.concept?.id, 'kidney_left');
    // The phantom's left kidney (label 5) sits at high i, which the LPS-stored affine puts on the patient's left.
    assert.ok(dice(left.probability as Uint8Array, truth(volume, [5])) > 0.85);
    assert.ok(dice(right.probability as Uint8Array, truth(volume, [4])) > 0.85);
    assert.match(left.notes.join(' '), /left side/);
  });

  describe('anchors (landmark rows every answer of the network needs found)', () => {
    it("answers every row absent, with the landmark's reason, when a landmark is not found, running it unasked", async () => {
      // "brain" (2000-3000 HU) is never found in the phantom
      await withEditedModel(
        (manifest) => (manifest.networks[0].anchors = ['brain']),
        async (anchored) => {
          const [kidneys, spine] = (await anchored.segment(volume, 'kidneys, spine')).prompts;
          for (const answer of [kidneys, spine]) {
            assert.equal(answer.status, 'absent');
            assert.equal(answer.probability, undefined);
            assert.match(answer.evidence?.reasons.join(' ') ?? '', /body-ct did not find its landmarks \(brain: /);
          }
          const [unanchored] = (await engine.segment(volume, 'kidneys')).prompts;
          assert.equal(unanchored.status, 'present');
        },
      );
    });

    it("leaves a lesion found by another network unchecked, not absent, when its organ's landmarks are not found", async () => {
      // a second CT network answers "kidney tumour" from the kidney's band; the first, gated by its missing
      // "brain" landmark, answers the kidney the tumour is checked against
      await withEditedModel(
        (manifest) => {
          const first = manifest.networks[0];
          first.anchors = ['brain'];
          manifest.networks.push({
            ...first,
            id: 'lesion-ct',
            anchors: [],
            concepts: [{ ...first.concepts[0], id: 'kidney_tumor' }],
          });
        },
        async (anchored) => {
          const [tumour, kidney] = (await anchored.segment(volume, 'kidney tumour, kidney')).prompts;
          assert.equal(kidney.status, 'absent');
          assert.equal(tumour.status, 'present', tumour.evidence?.reasons.join(' | '));
          assert.match(
            tumour.notes.join(' | '),
            /not checked against the kidney: body-ct did not find its landmarks \(brain: /,
          );
        },
      );
    });

    it('changes no answer when the landmarks are found', async () => {
      await withEditedModel(
        (manifest) => (manifest.networks[0].anchors = ['vertebral_column']),
        async (anchored) => {
          const [kidneys] = (await anchored.segment(volume, 'kidneys')).prompts;
          const [unanchored] = (await engine.segment(volume, 'kidneys')).prompts;
          assert.equal(kidneys.status, 'present');
          assert.equal(kidneys.evidence?.voxels, unanchored.evidence?.voxels);
          assert.equal(kidneys.score, unanchored.score);
        },
      );
    });
  });

  it('says absent, unsupported and unknown, with no mask', async () => {
    const result = await engine.segment(volume, 'brain, liver, banana');
    const [brain, liver, banana] = result.prompts;
    assert.equal(brain.status, 'absent');
    assert.equal(brain.probability, undefined);
    assert.ok((brain.score ?? 1) < 0.5);
    assert.ok(brain.evidence?.reasons.length);
    assert.equal(liver.status, 'unsupported');
    assert.match(liver.notes.join(' '), /does not segment/);
    assert.equal(banana.status, 'unknown');
    assert.equal(banana.score, null);
  });

  it('reports statistics in HU and instances with world boxes', async () => {
    const result = await engine.segment(volume, 'spine, kidney');
    const [spine, kidney] = result.prompts;
    assert.equal(spine.concept?.id, 'vertebral_column');
    const mean = spine.statistics?.intensity?.mean ?? 0;
    assert.ok(mean > 600 && mean < 800, `spine mean ${mean} HU`);
    assert.equal(kidney.instances?.length, 2, 'two kidneys, two instances');
    const [a, b] = kidney.instances ?? [];
    assert.ok(Math.abs(a.centroidWorld[0] + b.centroidWorld[0]) < 10, 'kidneys symmetric about x = 0');
  });

  it('maps results from a coarser working grid back onto the input grid', async () => {
    const coarseDir = writeTestModel(join(modelDir, 'coarse'), [5, 5, 8]);
    const coarse = ParseEngine.load(coarseDir, { threads: 1 });
    try {
      const big = makePhantomCt({ dims: [128, 128, 64] });
      const [spine] = (await coarse.segment(big, 'vertebral column')).prompts;
      assert.equal(spine.probability?.length, big.data.length);
      const d = dice(spine.probability as Uint8Array, truth(big, [6]));
      assert.ok(d > 0.85, `Dice ${d}`);
    } finally {
      await coarse.dispose();
    }
  });

  it('refuses an empty prompt list', async () => {
    await assert.rejects(engine.segment(volume, ' , '), /prompt list is empty/);
  });

  it('answers the same on a reoriented copy of the input (orientation invariance)', () =>
    withTempDir(async () => {
      const flipped = flipFirstAxis(volume);
      const a = (await engine.segment(volume, 'kidney')).prompts[0].probability as Uint8Array;
      const b = (await engine.segment(flipped, 'kidney')).prompts[0].probability as Uint8Array;
      const [nx] = volume.dims;
      let same = 0;
      let total = 0;
      for (let index = 0; index < a.length; index++) {
        const i = index % nx;
        const mirrored = index - i + (nx - 1 - i);
        total += a[index] || b[mirrored] ? 1 : 0;
        same += a[index] && b[mirrored] ? 1 : 0;
      }
      assert.ok(same / total > 0.97, `overlap ${same / total}`);
    }));
});

/** The same image stored with its first voxel axis reversed (and the affine saying so). */
function flipFirstAxis(volume: Volume): Volume {
  const [nx, ny, nz] = volume.dims;
  const data = new Int16Array(volume.data.length);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) data[nx - 1 - i + nx * (j + ny * k)] = volume.data[i + nx * (j + ny * k)];
  const a = [...volume.affine];
  for (let r = 0; r < 3; r++) {
    a[r * 4 + 3] += a[r * 4] * (nx - 1);
    a[r * 4] = -a[r * 4];
  }
  return { ...volume, data, affine: a };
}
