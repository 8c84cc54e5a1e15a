/**
 * npm run eval: the shipped model through the TypeScript engine on the held-out cases of
 * training/splits.json. Per concept: Dice, HD95 and NSD 2mm against the reference labels; per case, prompts
 * for concepts certainly absent from it (the trainer's "absent" lists, plus the concepts of the other
 * region-specific networks of the same modality) give the false-accept rate.
 * NSD 2mm is the normalised surface Dice at 2 mm: the share of both surfaces' voxels that lie within 2 mm of
 * the other surface, measured in mm on the scan's own (anisotropic) spacing; 0 for an empty prediction. It
 * and HD95 are read from one surface-distance pass per case (src/eval/metrics.ts `surfaceMetrics`); the
 * table shows the mean over cases, --json rows `nsd2mm` (and each case's `nsd2mm`).
 * Each concept's row shows its mean Dice and its lowest case (`0.612 (acdc/patient012)`; --json: `lowestDice`,
 * `lowestCase`), so a bar on every held-out volume can be read off the table. Real scans that no network
 * trained on are added (NEVER_TRAINED): the FreeSurfer subject (brain structures) and limb CTs
 * (organs that cannot be there).
 *
 * usage: npm run eval -- [--max-cases N] [--datasets a,b] [--model DIR] [--json FILE] [--withhold-below DICE]
 *        [--rotate SEED] [--thick-slices MM]
 *
 * --rotate turns every case's image and labels by one random rotation of their affine (a seeded draw per
 * case, uniform over all orientations): the same voxels, stored as a scanner might store a stack. It is a
 * fair test for networks that read slice stacks (`slice_axis: "thickest"`, heart-mr: ACDC's affines are
 * not true anyway); for the others it turns the anatomy itself in the patient's frame, which no scan does.
 *
 * --thick-slices MM gives every case slices about MM thick along its axis nearest S-I (each run of thin
 * slices averaged, the labels' most frequent value per voxel; src/eval/thick-slices.ts): how a network that
 * learnt from thin slices does on a clinical stack, which is what `input.max_slice_mm` is measured with.
 *
 * Withheld concepts (model.json) are measured too. --withhold-below is the release gate: it writes
 * `withheld` for measured concepts whose held-out Dice is below DICE on every kind of scan (crop, whole),
 * `withheld_on` for those below it on one kind only, and clears both for the others. A concept with no
 * held-out scan that is below DICE even on a scan it trained on (TRAINED_ON) is withheld too; passing
 * there clears nothing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spacingOf } from '../src/core/volume.js';
import { dice, surfaceMetrics } from '../src/eval/metrics.js';
import { lowestCell, summarizeDice } from '../src/eval/dice-summary.js';
import { absentPromptOrder, withinVoxelBudget } from '../src/eval/absent-prompts.js';
import { randomRotation, turned } from '../src/eval/random-rotation.js';
import { thickenSlices, thickSlicePlan } from '../src/eval/thick-slices.js';
import { isTrainingScanReason, releaseGate, trainingScanGate, type MeasuredConcept } from '../src/eval/release-gate.js';
import { readVolume } from '../src/io/read.js';
import { readModelManifest, writeModelManifest } from '../src/runtime/model-manifest.js';
import { answeringRow, withheldReason, type ImagingModality } from '../src/runtime/model-package.js';
import { scanTraits, type ScanScope, type ScanTraits } from '../src/runtime/scan-scope.js';
import { DEFAULT_MODEL_DIR } from '../src/core/paths.js';
import { ParseEngine } from '../src/tasks/engine.js';
import { REPO_ROOT, sharedDir } from '../test/helpers/shared.js';
import {
  conceptValues,
  labelMask,
  loadTrainingConfigs,
  asHounsfield,
  regionsTouch,
  type DatasetConfig,
  type TrainingConfig,
} from './training-configs.js';
import { parseScriptArgs } from './script-args.js';

interface SplitCase {
  patient: string;
  image: string | null;
  labels: string;
}

interface ConceptScore {
  dice: number[];
  hd95: number[];
  /** Normalised surface Dice at NSD_TOLERANCE_MM of each case (0 when the prediction is empty). */
  nsd2mm: number[];
  /** The model withholds this concept from users (model.json `withheld`); measured with --experimental. */
  withheld: boolean;
  conceptId: string;
  modality: ImagingModality;
  /** Data set of each case. */
  datasets: string[];
  /** Patient (case id within its data set) of each case. */
  patients: string[];
  /** Kind of scan of each case (crop or whole region): the gate judges each kind on its own. */
  scopes: ScanScope[];
  /** Measured on a scan the network trained on (TRAINED_ON): an upper bound, kept apart from held-out rows. */
  trainedOn: boolean;
}

/** Tolerance of the normalised surface Dice column, in mm. */
const NSD_TOLERANCE_MM = 2;

const USAGE = `usage: npm run eval -- [--max-cases N] [--datasets a,b] [--model DIR] [--json FILE] [--withhold-below DICE]
       [--rotate SEED] [--thick-slices MM] [--max-working-voxels N]`;
const { values } = parseScriptArgs('eval', USAGE, () =>
  parseArgs({
    options: {
      'max-cases': { type: 'string', default: '4' },
      datasets: { type: 'string' },
      model: { type: 'string', default: DEFAULT_MODEL_DIR },
      json: { type: 'string' },
      /** Skip scans whose grid at the network's spacing exceeds this many voxels (a time budget on a CPU). */
      'max-working-voxels': { type: 'string' },
      /** Release gate: write `withheld` into model.json for measured concepts whose mean Dice is below this. */
      'withhold-below': { type: 'string' },
      rotate: { type: 'string' },
      'thick-slices': { type: 'string' },
    },
  }),
);
const rotateSeed = values.rotate === undefined ? undefined : Number(values.rotate);
if (rotateSeed !== undefined && !Number.isInteger(rotateSeed)) {
  console.error(`eval: --rotate takes a whole-number seed, got "${values.rotate}"`);
  process.exit(2);
}
if (rotateSeed !== undefined && values['withhold-below'] !== undefined) {
  console.error('eval: the release gate (--withhold-below) judges cases as scanned, not --rotate');
  process.exit(2);
}
const thickSlicesMm = values['thick-slices'] === undefined ? undefined : Number(values['thick-slices']);
if (thickSlicesMm !== undefined && !(thickSlicesMm > 0 && thickSlicesMm <= 50)) {
  console.error(
    `eval: --thick-slices takes a slice thickness in mm (over 0, at most 50), got "${values['thick-slices']}"`,
  );
  process.exit(2);
}
if (thickSlicesMm !== undefined && values['withhold-below'] !== undefined) {
  console.error('eval: the release gate (--withhold-below) judges cases as scanned, not --thick-slices');
  process.exit(2);
}
const maxWorkingVoxels = values['max-working-voxels'] === undefined ? Infinity : Number(values['max-working-voxels']);
const withholdBelow = values['withhold-below'] === undefined ? undefined : Number(values['withhold-below']);
if (withholdBelow !== undefined && !(withholdBelow > 0 && withholdBelow < 1)) {
  console.error(`eval: --withhold-below must be a Dice between 0 and 1, got "${values['withhold-below']}"`);
  process.exit(2);
}
const skipped: string[] = [];
/** Absent prompts left out for time, per concept: the false-accept rate says nothing about them. */
const absentLeftOut = new Map<string, number>();

const shared = sharedDir();
if (!shared) {
  console.log('eval skipped: ../shared/data (the held-out scans) is not beside the repository');
  process.exit(0);
}
if (!existsSync(join(values.model, 'model.json'))) {
  console.error(`eval: no model package in ${values.model}`);
  process.exit(1);
}

// Withheld concepts are measured too (that is how they earn their way back); users never get them
// unless they ask with --experimental, so they are marked and kept out of the false-accept rate.
const engine = ParseEngine.load(values.model, { experimental: true });
const configs = loadTrainingConfigs(new Set(engine.model.networks.map((n) => n.id)));
const splits = JSON.parse(readFileSync(join(REPO_ROOT, 'training/splits.json'), 'utf8')) as {
  datasets: Record<string, { held_out: SplitCase[]; image_to_hu?: number[] }>;
};
/**
 * Real scans that no network trained on and splits.json does not list (no training config names them),
 * scored with the label map of a data set that uses the same label ids, or with their own label values.
 */
const NEVER_TRAINED: Array<{
  dataset: string;
  testCase: SplitCase;
  labelsLike?: string;
  /** Label values of concepts this scan's labels hold (beyond, or differently from, the `labelsLike` set). */
  ownValues?: Record<string, number[]>;
  /** Concepts certainly absent from the scan; without labelsLike, the modality is CT. */
  absentOnly?: string[];
}> = [
  {
    // a real T1 with FreeSurfer's aseg labels: brain-mr learnt these structures from synthetic images only
    dataset: 'freesurfer',
    labelsLike: 'synthseg',
    // aparc.a2009s+aseg splits each hemisphere's cortex (3, 42 in aseg) into Destrieux parcels
    ownValues: {
      cerebral_cortex: [...range(11101, 11175), ...range(12101, 12175)],
      cerebral_cortex_left: range(11101, 11175),
      cerebral_cortex_right: range(12101, 12175),
    },
    testCase: { patient: 'subject', image: 'freesurfer/norm.mgz', labels: 'freesurfer/aparc.a2009s+aseg.mgz' },
  },
  // limb CTs (soft-tissue sarcoma crops): none of these organs can be in them
  ...[1, 2, 3].map((n) => ({
    dataset: 'sarcoma_ct',
    testCase: {
      patient: `STS_00${n}`,
      image: `sarcoma_ct/STS_00${n}_CT_image.nii.gz`,
      labels: `sarcoma_ct/STS_00${n}_CT_mask.nii.gz`,
    },
    absentOnly: ['liver', 'spleen', 'kidney_left', 'kidney_right', 'stomach', 'pancreas', 'aorta', 'brain'],
  })),
  {
    // a CT angiography crop of the chest and abdomen (TotalSegmentator's example; its aorta mask is a
    // TotalSegmentator prediction, silver): the only real CT with an abdominal vessel that body-ct never saw
    dataset: 'cta_aorta',
    testCase: {
      patient: 'example',
      image: 'totalsegmentator/cta_aorta/ct_cropped.nii.gz',
      labels: 'totalsegmentator/cta_aorta/aorta.nii.gz',
    },
    ownValues: { aorta: [1] },
    absentOnly: ['brain'],
  },
];
/**
 * Scans a network trained on, for concepts that have no held-out scan here: body-ct's abdominal organs were
 * learnt from one real CT. Their rows are upper bounds, shown apart ("(trained on)"); the release gate uses
 * them only to withhold a concept that fails even there. No absent prompts are asked of them.
 */
const TRAINED_ON: Array<{ dataset: string; labelsLike: string; testCase: SplitCase }> = [
  {
    dataset: 'totalseg_ct',
    labelsLike: 'totalseg_ct',
    testCase: {
      patient: 'example',
      image: 'totalsegmentator/ct/example_ct.nii.gz',
      labels: 'totalsegmentator/ct/example_seg_fast_force_split.nii.gz',
    },
  },
];
/** What a user reading a withheld reason knows the evaluated data sets as. */
const DATASET_NAMES: Record<string, string> = {
  acdc: 'ACDC cardiac cine MR',
  msd_hippocampus: 'MSD hippocampus MR crops',
  brats2015_flair: 'BraTS FLAIR',
  brats2015_t1c: 'BraTS T1 contrast',
  freesurfer: 'FreeSurfer whole-brain T1',
  openkbp: 'OpenKBP head-and-neck CT',
  cta_aorta: 'TotalSegmentator CT angiography crop',
  sarcoma_ct: 'limb CT',
  totalseg_ct: 'TotalSegmentator abdominal CT',
  btcv_ct_half: 'BTCV abdominal CT',
  mscmr_bssfp: 'MS-CMRSeg cardiac cine MR',
  chaos_mr: 'CHAOS abdominal T2 MR',
};
const maxCases = Number(values['max-cases']);
/** Cases evaluated so far: each --rotate case draws its own rotation. */
let caseCount = 0;
const only = values.datasets?.split(',');
const scores = new Map<string, ConceptScore>();
const absentChecks = new Map<string, { asked: number; accepted: number }>();
const absentByDataset = new Map<string, { asked: number; accepted: number }>();
const withheldAbsentChecks = new Map<string, { asked: number; accepted: number }>();
/** Every prompt's answer and evidence, for the --json report (why a case was accepted or rejected). */
const caseRecords: Array<Record<string, unknown>> = [];
const started = performance.now();

for (const [dataset, split] of Object.entries(splits.datasets)) {
  if (only && !only.includes(dataset)) continue;
  const labelled = configs.flatMap((c) =>
    c.datasets
      .filter((d) => d.name === dataset && Object.keys(conceptValues(d, c.concepts)).length)
      .map((d) => ({ config: c, dataset: d })),
  );
  if (!labelled.length) continue;
  const cases = split.held_out.filter((c) => c.image).slice(0, maxCases);
  for (const testCase of cases) await evaluateCase(dataset, testCase, labelled);
}
for (const { dataset, labelsLike, ownValues, testCase, absentOnly } of NEVER_TRAINED) {
  if (only && !only.includes(dataset)) continue;
  if (!existsSync(join(shared, 'data', testCase.image as string))) continue;
  if (!labelsLike) {
    const options = { ownValues, absent: absentOnly ?? [], modality: 'CT', rowSuffix: ` (${dataset})` };
    await evaluateCase(dataset, testCase, [], options);
    continue;
  }
  const labelled = configs.flatMap((c) =>
    c.datasets.filter((d) => d.name === labelsLike).map((d) => ({ config: c, dataset: d })),
  );
  // their own rows: a whole real brain is not averaged into the held-out hippocampus crops
  if (labelled.length)
    await evaluateCase(dataset, testCase, labelled, { labelsLike, ownValues, rowSuffix: ` (${dataset})` });
}
for (const { dataset, labelsLike, testCase } of TRAINED_ON) {
  if (only && !only.includes(dataset)) continue;
  if (!existsSync(join(shared, 'data', testCase.image as string))) continue;
  const labelled = configs.flatMap((c) =>
    c.datasets.filter((d) => d.name === labelsLike).map((d) => ({ config: c, dataset: d })),
  );
  await evaluateCase(dataset, testCase, labelled, {
    labelsLike,
    absent: [],
    rowSuffix: ' (trained on)',
    trainedOn: true,
  });
}
await engine.dispose();
printTables();
if (withholdBelow !== undefined) applyWithholdGate(withholdBelow);

async function evaluateCase(
  dataset: string,
  testCase: SplitCase,
  labelled: Array<{ config: TrainingConfig; dataset: DatasetConfig }>,
  options: {
    labelsLike?: string;
    ownValues?: Record<string, number[]>;
    absent?: string[];
    modality?: string;
    rowSuffix?: string;
    trainedOn?: boolean;
  } = {},
): Promise<void> {
  const root = join(shared as string, 'data');
  const turn = rotateSeed === undefined ? undefined : randomRotation(rotateSeed * 100_003 + caseCount++);
  const read = await readVolume(join(root, testCase.image as string));
  const scanned = turned(asHounsfield(read, splits.datasets[dataset]?.image_to_hu), turn);
  const thick = thickSlicesMm === undefined ? undefined : thickSlicePlan(scanned, thickSlicesMm);
  const image = thick ? thickenSlices(scanned, thick.axis, thick.factor, 'mean') : scanned;
  const [sx, sy, sz] = spacingOf(image);
  const scan = scanTraits(image);
  const { scope } = scan;
  const modality = options.modality ?? labelled[0].config.modalities[0];
  // Concepts whose network would run on more working voxels than the budget are left out of this case.
  const fits = (id: string) =>
    withinVoxelBudget(id, engine.model.networks, modality, image.data.length * sx * sy * sz, maxWorkingVoxels);
  const scannedLabels = turned(await readVolume(join(root, testCase.labels)), turn);
  const labels = thick ? thickenSlices(scannedLabels, thick.axis, thick.factor, 'mode') : scannedLabels;
  const mapped = Object.assign({}, ...labelled.map((l) => conceptValues(l.dataset, l.config.concepts))) as Record<
    string,
    number[]
  >;
  const allPresent = Object.entries({ ...mapped, ...options.ownValues });
  const present = allPresent.filter(([id]) => fits(id));
  const absentCandidates =
    options.absent ??
    absentConcepts(
      options.labelsLike ?? dataset,
      labelled.map((l) => l.config),
      scan,
    );
  const absent = absentCandidates.filter(fits);
  for (const id of absentCandidates.filter((id) => !fits(id))) absentLeftOut.set(id, (absentLeftOut.get(id) ?? 0) + 1);
  if (present.length < allPresent.length) skipped.push(`${dataset}/${testCase.patient}`);
  if (present.length + absent.length === 0) return;
  const prompts = [...present.map(([id]) => id), ...absent];
  const caseStart = performance.now();
  const result = await engine.segmentConcepts(image, prompts, { modality });
  result.prompts.forEach((prompt, n) => {
    const id = prompts[n];
    const row = id + (options.rowSuffix ?? '');
    const { voxels, volumeMl, presenceLogit, meanProbability, meanIntensity, pValue, reasons } = prompt.evidence ?? {};
    const record = {
      dataset,
      modality,
      patient: testCase.patient,
      concept: id,
      expected: n < present.length ? 'present' : 'absent',
    };
    const evidence = {
      status: prompt.status,
      voxels,
      volumeMl,
      presenceLogit,
      meanProbability,
      meanIntensity,
      pValue,
      reasons,
    };
    // Withheld from users: its own row is, or the rows it is built from are ("left putamen" from "putamen").
    const withheld =
      withheldReason(engine.model, id, modality as ImagingModality, scan) !== undefined ||
      prompt.notes.some((note) => note.startsWith('experimental: the model withholds'));
    if (n < present.length) {
      const truth = labelMask(labels, present[n][1]);
      // Partly labelled sets (OpenKBP contours only some organs per patient): an unlabelled organ is
      // unknown, neither a Dice case nor a certain negative.
      if (!truth.includes(1)) return;
      const predicted = prompt.probability ?? new Uint8Array(truth.length);
      const score = scores.get(row) ?? {
        dice: [],
        hd95: [],
        nsd2mm: [],
        withheld,
        conceptId: id,
        modality: modality as ImagingModality,
        datasets: [],
        patients: [],
        scopes: [],
        trainedOn: options.trainedOn === true,
      };
      score.datasets.push(dataset);
      score.patients.push(testCase.patient);
      score.scopes.push(scope);
      score.dice.push(dice(predicted, truth));
      // one surface-distance pass for both: an empty prediction has no HD95 (Infinity) and NSD 0
      const surfaces = surfaceMetrics(predicted, truth, image.dims, spacingOf(image), NSD_TOLERANCE_MM);
      score.hd95.push(Number.isNaN(surfaces.hd95) ? Infinity : surfaces.hd95);
      score.nsd2mm.push(surfaces.nsd);
      caseRecords.push({
        ...record,
        dice: score.dice[score.dice.length - 1],
        nsd2mm: Number.isNaN(surfaces.nsd) ? null : surfaces.nsd,
        ...evidence,
      });
      scores.set(row, score);
    } else if (withheld) {
      tally(withheldAbsentChecks, id, prompt.status === 'present');
      caseRecords.push({ ...record, withheld: true, ...evidence });
    } else {
      tally(absentChecks, id, prompt.status === 'present');
      tally(absentByDataset, dataset, prompt.status === 'present');
      caseRecords.push({ ...record, ...evidence });
    }
  });
  console.error(
    `${dataset}/${testCase.patient}: ${prompts.length} prompts in ${((performance.now() - caseStart) / 1000).toFixed(1)} s`,
  );
}

/** Whole numbers from `first` to `last`, both included. */
function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, n) => first + n);
}

function tally(counts: Map<string, { asked: number; accepted: number }>, key: string, accepted: boolean): void {
  const count = counts.get(key) ?? { asked: 0, accepted: 0 };
  count.asked++;
  if (accepted) count.accepted++;
  counts.set(key, count);
}

/**
 * Certain negatives: the trainer's absent lists, and the concepts of other region-specific networks; at
 * most 8, those answered to users on this kind of scan first (withheld ones are measured too, but are not
 * what the false-accept rate is about).
 */
function absentConcepts(dataset: string, own: TrainingConfig[], scan: ScanTraits): string[] {
  const listed = configs.flatMap((c) => c.datasets.filter((d) => d.name === dataset).flatMap((d) => d.absent ?? []));
  const modality = own[0].modalities[0];
  const otherRegions = configs
    .filter((c) => !own.includes(c) && c.modalities.includes(modality) && c.network_id.endsWith('-mr'))
    .filter((c) => !own.some((o) => regionsTouch(o, c)))
    .flatMap((c) => c.datasets.flatMap((d) => Object.keys(conceptValues(d, c.concepts))));
  const shipped = new Set(engine.model.networks.flatMap((n) => n.concepts.map((c) => c.id)));
  const withheld = (id: string) => withheldReason(engine.model, id, modality as ImagingModality, scan) !== undefined;
  const candidates = [...listed, ...otherRegions].filter((id) => shipped.has(id) && engine.vocabulary.get(id));
  return absentPromptOrder(candidates, withheld);
}

function printTables(): void {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `\nmedparse eval: model ${engine.model.name} ${engine.model.version}, up to ${maxCases} held-out cases per dataset` +
      (rotateSeed === undefined ? '' : `, each turned by a random rotation (--rotate ${rotateSeed})`) +
      (thickSlicesMm === undefined ? '' : `, slices made about ${thickSlicesMm} mm thick (--thick-slices)`) +
      `, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  console.log('| concept | cases | Dice | lowest (case) | HD95 mm | NSD 2mm | answered |');
  console.log('|---|---|---|---|---|---|---|');
  const rows: Record<string, unknown>[] = [];
  for (const [id, s] of [...scores].sort()) {
    const finite = s.hd95.filter(Number.isFinite);
    const hd = finite.length
      ? mean(finite).toFixed(1) + (finite.length < s.hd95.length ? ` (${s.hd95.length - finite.length} empty)` : '')
      : 'n/a';
    // NaN only with both masks empty, which eval never scores (a case needs a labelled reference)
    const nsdCases = s.nsd2mm.filter((v) => !Number.isNaN(v));
    const nsd = nsdCases.length ? mean(nsdCases) : null;
    const answered = s.withheld ? 'withheld' : 'yes';
    const summary = summarizeDice(
      s.dice.map((value, n) => ({ dice: value, dataset: s.datasets[n], patient: s.patients[n] })),
    );
    if (!summary) continue;
    console.log(
      `| ${id} | ${summary.cases} | ${summary.meanDice.toFixed(3)} | ${lowestCell(summary)} | ${hd} | ${nsd === null ? 'n/a' : nsd.toFixed(3)} | ${answered} |`,
    );
    rows.push({
      concept: id,
      cases: summary.cases,
      dice: summary.meanDice,
      lowestDice: summary.lowestDice,
      lowestCase: summary.lowestCase,
      hd95: finite.length ? mean(finite) : null,
      nsd2mm: nsd,
      withheld: s.withheld,
    });
  }
  if ([...scores.values()].some((s) => s.trainedOn))
    console.log('(trained on): a scan the network trained on, an upper bound, not a held-out measurement');
  let asked = 0;
  let accepted = 0;
  console.log('\n| absent concept | asked | accepted (false) |');
  console.log('|---|---|---|');
  for (const [id, c] of [...absentChecks].sort()) {
    console.log(`| ${id} | ${c.asked} | ${c.accepted} |`);
    asked += c.asked;
    accepted += c.accepted;
  }
  const rate = asked ? accepted / asked : 0;
  console.log('\n| scans of | absent prompts | accepted (false) |');
  console.log('|---|---|---|');
  for (const [dataset, c] of absentByDataset) console.log(`| ${dataset} | ${c.asked} | ${c.accepted} |`);
  if (skipped.length)
    console.log(
      `\nconcepts left out for time (network grid over ${maxWorkingVoxels} voxels) in: ${skipped.join(', ')}`,
    );
  if (absentLeftOut.size)
    console.log(
      `\nabsent prompts left out for time (network grid over ${maxWorkingVoxels} voxels), not in the rate: ` +
        [...absentLeftOut].map(([id, n]) => `${id} (${n})`).join(', '),
    );
  console.log(
    asked
      ? `\nfalse-accept rate on absent objects: ${accepted}/${asked} = ${(100 * rate).toFixed(1)} %`
      : '\nfalse-accept rate on absent objects: none asked',
  );
  const withheldAsked = [...withheldAbsentChecks.values()].reduce((n, c) => n + c.asked, 0);
  const withheldAccepted = [...withheldAbsentChecks.values()].reduce((n, c) => n + c.accepted, 0);
  if (withheldAsked)
    console.log(
      `withheld concepts (not answered to users, so not in the rate): ${withheldAccepted}/${withheldAsked} absent prompts accepted with --experimental`,
    );
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify(
        {
          concepts: rows,
          absent: Object.fromEntries(absentChecks),
          falseAcceptRate: rate,
          withheldAbsent: Object.fromEntries(withheldAbsentChecks),
          absentLeftOutForTime: Object.fromEntries(absentLeftOut),
          cases: caseRecords,
        },
        null,
        2,
      ),
    );
}

/**
 * Applies the release gate (src/eval/release-gate.ts) to model.json: `withheld` and `withheld_on` are set
 * or cleared where this run judged them; concepts and kinds of scan it did not measure keep their marks.
 */
function applyWithholdGate(floor: number): void {
  const measuredAll = [...scores.values()].flatMap((score): Array<MeasuredConcept & { trainedOn: boolean }> => {
    // the row eval measured: the engine runs experimental, so withheld rows answer too
    const network = answeringRow(
      engine.model,
      score.conceptId,
      score.modality,
      { scope: score.scopes[0], sliceMm: 0 },
      true,
    )?.network;
    return network
      ? [
          {
            networkId: network.id,
            conceptId: score.conceptId,
            dice: score.dice,
            datasets: score.datasets,
            scopes: score.scopes,
            trainedOn: score.trainedOn,
          },
        ]
      : [];
  });
  const measured = measuredAll.filter((m) => !m.trainedOn);
  const heldOutKeys = new Set(measured.map((m) => `${m.networkId}|${m.conceptId}`));
  // parts a network answers: what a whole's verdict on a kind of scan carries to
  const partsOf = (networkId: string, conceptId: string) => {
    const network = engine.model.networks.find((n) => n.id === networkId);
    return engine.vocabulary
      .partsOf(conceptId)
      .map((part) => part.id)
      .filter((id) => network?.concepts.some((c) => c.id === id));
  };
  const manifest = readModelManifest(values.model);
  console.log(`\nrelease gate (held-out Dice below ${floor} is withheld):`);
  for (const verdict of releaseGate(measured, floor, manifest.version, DATASET_NAMES, partsOf)) {
    const network = manifest.networks.find((n) => n.id === verdict.networkId);
    const concept = network?.concepts.find((c) => c.id === verdict.conceptId);
    if (!concept) continue;
    if (verdict.meanDice !== undefined) {
      if (verdict.withheld) concept.withheld = verdict.withheld;
      else delete concept.withheld;
    }
    const withheldOn = { ...concept.withheld_on };
    for (const [scope, reason] of Object.entries(verdict.withheldOn) as Array<[ScanScope, string | null]>) {
      if (reason) withheldOn[scope] = reason;
      else delete withheldOn[scope];
    }
    if (Object.keys(withheldOn).length) concept.withheld_on = withheldOn;
    else delete concept.withheld_on;
    const scoped = Object.keys(withheldOn).map((scope) => `withheld on ${scope} scans`);
    console.log(
      `  ${verdict.networkId} ${verdict.conceptId}: ${verdict.meanDice?.toFixed(3) ?? 'not measured'} -> ` +
        (concept.withheld ? 'withheld' : ['answered', ...scoped].join(', ')),
    );
  }
  const trainedOn = measuredAll.filter((m) => m.trainedOn);
  for (const verdict of trainingScanGate(trainedOn, heldOutKeys, floor, manifest.version, DATASET_NAMES)) {
    const concept = manifest.networks
      .find((n) => n.id === verdict.networkId)
      ?.concepts.find((c) => c.id === verdict.conceptId);
    if (!concept) continue;
    if (verdict.withheld) concept.withheld = verdict.withheld;
    else if (isTrainingScanReason(concept.withheld)) delete concept.withheld;
    console.log(
      `  ${verdict.networkId} ${verdict.conceptId}: ${verdict.meanDice?.toFixed(3)} on a scan it trained on -> ` +
        (concept.withheld ? 'withheld' : 'answered'),
    );
  }
  writeModelManifest(values.model, manifest);
}
