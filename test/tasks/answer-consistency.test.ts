import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Volume } from '../../src/core/volume.js';
import { readVolume } from '../../src/io/read.js';
import { readLabelTable } from '../../src/io/label-table.js';
import { tightBox } from '../../src/ops/index.js';
import { parseDicomSeg } from '../../src/outputs/dicom-seg-check.js';
import { LATERALITY_CODES } from '../../src/outputs/seg-codes.js';
import { describeMask } from '../../src/tasks/mask-analysis.js';
import { writeResults } from '../../src/tasks/output-folder.js';
import { readReport, type PromptReport } from '../../src/tasks/report.js';
import { liesWithin, settleOverlaps } from '../../src/tasks/overlaps.js';
import { checkAnatomy } from '../../src/tasks/sanity.js';
import type { ParseResult, PromptResult } from '../../src/tasks/results.js';
import { deltaE } from '../../src/core/colour.js';
import { MIN_TOUCHING_DELTA_E, loadVocabulary } from '../../src/vocab/index.js';
import { presentPromptResult } from '../helpers/answers.js';
import { withTempDir } from '../helpers/volumes.js';

const vocabulary = loadVocabulary();

/** A present answer of report.json: its mask, concept, statistics and label-map fields asserted there. */
function presentAnswer(p: PromptReport) {
  const { mask_file, concept, statistics, label_map, label_value } = p;
  assert.ok(mask_file && concept && statistics && label_map && label_value !== null, `${p.text} is present`);
  return { ...p, mask_file, concept, statistics, label_map, label_value };
}
const DIMS: [number, number, number] = [24, 20, 12];
const N = DIMS[0] * DIMS[1] * DIMS[2];

/** A CT-like volume at 2 x 2 x 3 mm (0.012 mL a voxel), RAS, from a NIfTI file (no DICOM identifiers). */
function image(): Volume {
  return {
    dims: DIMS,
    affine: [2, 0, 0, -24, 0, 2, 0, -20, 0, 0, 3, -18, 0, 0, 0, 1],
    data: new Int16Array(N).fill(40),
    meta: { sourceFormat: 'nifti1', modality: 'CT', sourcePath: 'ct.nii.gz' },
  };
}

/** Probability 0..255 of a box [i0,j0,k0]-[i1,j1,k1] (inclusive). */
function boxMask(from: number[], to: number[], probability: number): Uint8Array {
  const data = new Uint8Array(N);
  for (let k = from[2]; k <= to[2]; k++)
    for (let j = from[1]; j <= to[1]; j++)
      for (let i = from[0]; i <= to[0]; i++) data[i + DIMS[0] * (j + DIMS[1] * k)] = probability;
  return data;
}

function answer(id: string, probability: Uint8Array, volume: Volume, score = 0.9): PromptResult {
  const box = tightBox(probability, DIMS);
  const voxels = probability.reduce((n, v) => n + (v ? 1 : 0), 0);
  return {
    ...presentPromptResult(id, probability, volume, score),
    evidence: {
      voxels,
      volumeMl: voxels * 0.012,
      presenceLogit: 5,
      meanProbability: 0.9,
      meanIntensity: 0.5,
      pValue: null,
      calibrated: true,
      boxVoxels: box,
      bestSlice: describeMask(probability, box, volume).bestSlice,
      reasons: [],
    },
  };
}

/**
 * kidney (the whole) with its left side inside it, a kidney tumour inside the left kidney, and a liver
 * whose mask runs into the right half of the kidney's, surer (200) than the kidney (150) on the shared
 * voxels on one side and less sure (100) on the other.
 */
function overlappingAnswers(volume: Volume): PromptResult[] {
  const kidney = boxMask([2, 2, 2], [17, 9, 7], 150);
  const left = boxMask([10, 2, 2], [17, 9, 7], 180);
  const tumour = boxMask([12, 4, 3], [14, 6, 5], 220);
  const liver = boxMask([0, 6, 2], [7, 15, 7], 200);
  // where the liver meets the kidney, its first columns are less sure than the kidney
  for (let k = 2; k <= 7; k++)
    for (let j = 6; j <= 9; j++) for (let i = 6; i <= 7; i++) liver[i + DIMS[0] * (j + DIMS[1] * k)] = 100;
  return [
    answer('kidney', kidney, volume),
    answer('kidney_left', left, volume),
    answer('kidney_tumor', tumour, volume),
    answer('liver', liver, volume),
  ];
}

function count(data: ArrayLike<number>, test: (v: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (test(data[i])) n++;
  return n;
}

describe('overlapping answers', () => {
  it('may overlap only when one lies within the other', () => {
    const [kidney, left, tumour, liver] = ['kidney', 'kidney_left', 'kidney_tumor', 'liver'].map((id) =>
      vocabulary.require(id),
    );
    assert.equal(liesWithin(left, kidney, vocabulary), true);
    assert.equal(liesWithin(tumour, left, vocabulary), true, 'a kidney tumour lies in either kidney');
    assert.equal(liesWithin(tumour, kidney, vocabulary), true);
    assert.equal(liesWithin(liver, kidney, vocabulary), false);
    assert.equal(liesWithin(tumour, liver, vocabulary), false);
  });

  it('settle a contradiction voxel by voxel, keeping nested overlaps', () => {
    const volume = image();
    const [kidney, left, tumour, liver] = settleOverlaps(overlappingAnswers(volume), volume, vocabulary);
    // kidney x liver share i 2..7, j 6..9, k 2..7 (4 x 4 x 6 = 96 at liver 200, 2 x 4 x 6 = 48 at liver 100)
    assert.equal(liver.statistics?.voxels, 8 * 10 * 6 - 48);
    assert.equal(kidney.statistics?.voxels, 16 * 8 * 6 - 96);
    assert.match(kidney.notes.join(' '), /1\.15 mL to liver/);
    assert.match(liver.notes.join(' '), /0\.58 mL to kidney/);
    // nested answers keep their masks
    assert.equal(left.statistics?.voxels, 8 * 8 * 6);
    assert.equal(tumour.statistics?.voxels, 27);
    for (let i = 0; i < N; i++) assert.ok(!(kidney.probability?.[i] && liver.probability?.[i]), `voxel ${i} in both`);
  });

  it('tell one story in masks, labels.nii.gz, labels.json, segmentation.dcm and report.json', () =>
    withTempDir(async (dir) => {
      const volume = image();
      const prompts = settleOverlaps(overlappingAnswers(volume), volume, vocabulary);
      const result: ParseResult = {
        input: volume,
        modality: 'CT',
        modalitySource: 'metadata',
        model: { name: 'test', version: '0', networks: ['body-ct'] },
        prompts,
        orientationSearch: [],
        timings: {},
      };
      await writeResults(dir, result, vocabulary, { task: 'segment', medparseVersion: 'test', dicomSeg: true });
      const report = readReport(dir);
      const table = readLabelTable(join(dir, 'labels.json'));
      const labels = await readVolume(join(dir, 'labels.nii.gz'));
      const seg = parseDicomSeg(new Uint8Array(readFileSync(join(dir, 'segmentation.dcm'))));
      assert.equal(seg.dataset.string('SegmentsOverlap'), 'YES');
      assert.equal(seg.segments.length, 4);
      for (const prompt of report.prompts.map(presentAnswer)) {
        const mask = await readVolume(join(dir, prompt.mask_file));
        const maskVoxels = count(mask.data, (v) => v !== 0);
        // the report's statistics are the mask's
        assert.equal(prompt.statistics.voxels, maskVoxels, prompt.concept.id);
        // the label map's own label plus the labels listed under the mask make the mask
        const own = count(labels.data, (v) => v === prompt.label_value);
        assert.equal(prompt.label_map.label_voxels, own);
        const others = prompt.label_map.mask_in_other_labels.reduce((n, o) => n + o.voxels, 0);
        assert.equal(own + others, maskVoxels, `${prompt.concept.id}: label ${own} + others ${others}`);
        for (const other of prompt.label_map.mask_in_other_labels) {
          let under = 0;
          for (let i = 0; i < N; i++) if (mask.data[i] && labels.data[i] === other.value) under++;
          assert.equal(under, other.voxels);
        }
        // labels.json says the same
        const entry = table.labels.find((l) => l.value === prompt.label_value);
        assert.equal(entry?.answer?.mask_voxels, maskVoxels);
        assert.equal(entry?.answer?.label_voxels, own);
        // the SEG segment of the answer holds exactly its mask
        const segment = seg.segments.find((s) => vocabulary.require(prompt.concept.id).name === s.label);
        assert.ok(segment, `a segment for ${prompt.concept.id}`);
        let segVoxels = 0;
        seg.frames.forEach((frame, f) => {
          if (frame.segmentNumber !== segment.number) return;
          const k = (frame.dimensionIndexValues?.[1] ?? 0) - 1;
          const bits = seg.frameMask(f);
          for (let p = 0; p < bits.length; p++) {
            if (!bits[p]) continue;
            segVoxels++;
            assert.ok(mask.data[p + k * DIMS[0] * DIMS[1]], `${prompt.concept.id}: SEG voxel outside the mask`);
          }
        });
        assert.equal(segVoxels, maskVoxels, `${prompt.concept.id}: SEG voxels`);
      }
      // the part is in the label map whole: the kidney's voxels show under the left kidney and the tumour
      const kidney = report.prompts.map(presentAnswer).find((p) => p.concept.id === 'kidney');
      assert.deepEqual(
        kidney?.label_map.mask_in_other_labels.map((o) => o.value).sort(),
        [2, 3],
        'left kidney and tumour labels within the kidney',
      );
      // every label of the map has a colour of its own (kidney and liver are close in the vocabulary)
      for (const [n, a] of table.labels.entries())
        for (const b of table.labels.slice(n + 1))
          assert.ok(deltaE(a.color, b.color) >= MIN_TOUCHING_DELTA_E, `${a.id} ${a.color} and ${b.id} ${b.color}`);
      // laterality: labels.json and the SEG's modifier
      assert.equal(table.labels.find((l) => l.id === 'kidney_left')?.laterality, 'left');
      assert.equal(table.labels.find((l) => l.id === 'kidney')?.laterality, undefined);
      const leftSegment = seg.segments.find((s) => s.label === 'left kidney');
      assert.deepEqual(leftSegment?.type?.value, '64033007');
      assert.deepEqual(leftSegment?.typeModifier?.value, LATERALITY_CODES.left.value);
      assert.equal(seg.segments.find((s) => s.label === 'kidney')?.typeModifier, undefined);
      // a SEG from a NIfTI file says it has no patient or study, and so does the report
      assert.match(seg.dataset.string('SeriesDescription') ?? '', /no patient or study/);
      assert.equal(seg.dataset.string('PatientID') ?? '', '');
      assert.equal(report.dicom_seg?.study_instance_uid, null);
      assert.match(report.dicom_seg?.note ?? '', /no patient or study to attach to/);
      assert.equal(report.dicom_seg?.segments_overlap, true);
    }));
});

describe('anatomical sanity', () => {
  const organs = (volume: Volume, kidney: PromptResult) => new Map([['kidney', { name: 'kidney', result: kidney }]]);

  it('leaves out the islands of a lesion that lie outside its organ, and says how much', () => {
    const volume = image();
    const kidney = answer('kidney', boxMask([2, 2, 2], [9, 9, 7], 200), volume);
    const tumour = boxMask([4, 4, 3], [6, 6, 5], 220); // 27 voxels inside the kidney
    const far = boxMask([18, 14, 3], [21, 17, 6], 220); // 64 voxels 18 mm and more from it
    for (let i = 0; i < N; i++) tumour[i] = Math.max(tumour[i], far[i]);
    const [checked] = checkAnatomy(
      [answer('kidney_tumor', tumour, volume)],
      organs(volume, kidney),
      volume,
      vocabulary,
    );
    assert.equal(checked.status, 'present');
    assert.equal(checked.statistics?.voxels, 27);
    assert.equal(checked.instances?.length, 1);
    assert.match(checked.notes.join(' '), /0\.77 mL of its mask lay outside the kidney/);
  });

  it('answers absent a lesion wholly outside its organ, or whose organ is absent', () => {
    const volume = image();
    const kidney = answer('kidney', boxMask([2, 2, 2], [9, 9, 7], 200), volume);
    const far = answer('kidney_tumor', boxMask([18, 14, 3], [21, 17, 6], 220), volume);
    const [outside] = checkAnatomy([far], organs(volume, kidney), volume, vocabulary);
    assert.equal(outside.status, 'absent');
    assert.equal(outside.probability, undefined);
    assert.match(
      outside.evidence?.reasons.join(' ') ?? '',
      /its mask lies outside the kidney: 0 % of it is within 10 mm/,
    );
    const absentKidney: PromptResult = { ...kidney, status: 'absent', probability: undefined, statistics: undefined };
    absentKidney.evidence = {
      ...(kidney.evidence as NonNullable<PromptResult['evidence']>),
      reasons: ['presence logit -3.00 is below the threshold 8.38'],
    };
    const inside = answer('kidney_tumor', boxMask([4, 4, 3], [6, 6, 5], 220), volume);
    const [noOrgan] = checkAnatomy([inside], organs(volume, absentKidney), volume, vocabulary);
    assert.equal(noOrgan.status, 'absent');
    assert.match(noOrgan.notes.join(' '), /the kidney, which it lies in, is not present in the scan \(presence logit/);
  });

  it('measures the 10 mm margin through the sheared affine of a gantry-tilted scan (20 degrees)', () => {
    const tilt = (20 * Math.PI) / 180;
    // 2 x 2 mm pixels whose columns rise 20 degrees, slices 3 mm apart along the table
    const volume = {
      ...image(),
      affine: [2, 0, 0, -24, 0, 2 * Math.cos(tilt), 0, -20, 0, 2 * Math.sin(tilt), 3, -18, 0, 0, 0, 1],
    };
    const kidney = answer('kidney', boxMask([2, 2, 4], [9, 9, 7], 200), volume);
    // one voxel 4 columns on and 3 slices below the kidney's corner (5, 9, 4): offset (0, 4, -3) is
    // (0, 7.52, 2.74 - 9) = 9.78 mm away, inside the margin (per-axis spacing said sqrt(8^2 + 9^2) = 12.04 mm)
    const near = boxMask([5, 13, 1], [5, 13, 1], 220);
    // one voxel 4 columns on and 2 slices above its corner (5, 9, 7): (0, 7.52, 2.74 + 6) = 11.52 mm, outside
    // (per-axis spacing said sqrt(8^2 + 6^2) = 10.00 mm, on the line and so inside)
    const far = boxMask([5, 13, 9], [5, 13, 9], 220);
    const lesion = near.map((v, i) => Math.max(v, far[i]));
    const [checked] = checkAnatomy(
      [answer('kidney_tumor', lesion, volume)],
      organs(volume, kidney),
      volume,
      vocabulary,
    );
    assert.equal(checked.status, 'present');
    assert.equal(checked.statistics?.voxels, 1);
    const kept = checked.probability as Uint8Array;
    assert.equal(kept[5 + DIMS[0] * (13 + DIMS[1] * 1)], 220, 'the voxel 9.78 mm away is kept');
    assert.equal(kept[5 + DIMS[0] * (13 + DIMS[1] * 9)], 0, 'the voxel 11.52 mm away is left out');
    assert.match(checked.notes.join(' '), /mL of its mask lay outside the kidney/);
  });

  it('answers absent a sided structure centred on the other side of the body', () => {
    const volume = image(); // uniform: the midline is the grid's centre, x = -1 mm
    // RAS: +x is the patient's right; i 2..8 is x -20..-8 mm, the patient's left
    const onLeft = answer('kidney_left', boxMask([2, 2, 2], [8, 9, 7], 200), volume);
    const onRight = answer('kidney_left', boxMask([15, 2, 2], [21, 9, 7], 200), volume);
    const [kept, moved] = checkAnatomy([onLeft, onRight], new Map(), volume, vocabulary);
    assert.equal(kept.status, 'present');
    assert.equal(moved.status, 'absent');
    assert.match(moved.notes.join(' '), /centred \d+ mm to the patient's right of the body's midline, not on the left/);
    const [unchecked] = checkAnatomy([onRight], new Map(), volume, vocabulary, { checkSides: false });
    assert.equal(unchecked.status, 'present', 'a crop has no midline to check against');
    // per answer: an answer from a network that searched orientations (cardiac stacks) is not checked
    const [fromSearch, fromFile] = checkAnatomy([onRight, onRight], new Map(), volume, vocabulary, {
      checkSides: [false, true],
    });
    assert.deepEqual([fromSearch.status, fromFile.status], ['present', 'absent']);
  });
});
