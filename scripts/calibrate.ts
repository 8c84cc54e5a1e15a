/**
 * npm run calibrate: fits each concept's presence calibration on TRAINING patients (never the
 * held-out ones eval uses) by running the shipped model through the TypeScript engine, and writes
 * it into model.json (docs/model-contract.md, "Calibration"):
 * - probability_beta / intensity_beta: Beta fits of s1 (mean probability) and s2 (mean squashed
 *   intensity) inside the predicted masks of cases that contain the concept;
 * - presence_threshold: the lowest presence logit that keeps false accepts on cases certainly
 *   without the concept at or below 5 %;
 * - presence_platt: logistic fit of presence (1) vs absence (0) on the presence logit;
 * - min_volume_ml: a fifth of the smallest volume seen on positive cases;
 * - max_volume_ml: five times the largest (the brain network's "hippocampus" of 21 mL in a cardiac
 *   stack, against 2 to 3 mL per side on brain scans);
 * - single_component: true when keeping only the largest island raises the mean Dice on the positive
 *   cases and costs none of them more than 0.05 (nnU-Net's per-class choice); never for paired concepts
 *   (both hippocampi are "hippocampus") or lesions. Judged on the input grid, applied on the working grid.
 * - drop_minor_islands (lesions only): true when dropping the islands under a tenth of the largest, as the
 *   engine always does for anatomy, passes the same test.
 * - anchors (per network, only with --anchors N): the N rows whose presence logits separate positives
 *   from negatives by the widest margin; every answer of the network needs them found (a brain network
 *   draws a cerebral white matter in a cine stack, but no third ventricle).
 * - connected_groups (per network): parts of one unpaired organ (the heart's ventricles and wall) whose
 *   union is cut to its largest piece, by the same test on the parts' Dice. Samples are taken with the
 *   package's single_component and groups switched off, so both tests see the network's own answers.
 *
 * usage: npm run calibrate -- [--cases N] [--negatives N] [--model DIR] [--networks a,b] [--samples FILE]
 *        [--from-samples FILE] [--dry-run] [--anchors N]
 * (--networks: calibrate only these networks, the others keep theirs; --samples: write every case's
 * evidence as JSON; --from-samples: fit from such a file without running the networks)
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spacingOf, type Volume } from '../src/core/volume.js';
import { dice } from '../src/eval/metrics.js';
import { readVolume } from '../src/io/read.js';
import { keepLargest } from '../src/ops/index.js';
import { DEFAULT_MODEL_DIR } from '../src/core/paths.js';
import {
  manifestPath as modelManifestPath,
  readModelManifest,
  writeModelManifest,
} from '../src/runtime/model-manifest.js';
import { ParseEngine } from '../src/tasks/engine.js';
import {
  chooseAnchors,
  canCalibrate,
  candidateGroups,
  connectedGroupHelps,
  fitCalibration,
  type CalibrationSample,
  type IslandKind,
} from '../src/tasks/calibration.js';
import { largestUnionPiece, withoutMinorIslands } from '../src/tasks/mask-analysis.js';
import type { PromptResult } from '../src/tasks/results.js';
import { REPO_ROOT, sharedDir } from '../test/helpers/shared.js';
import {
  asHounsfield,
  conceptValues,
  labelMask,
  loadTrainingConfigs,
  regionsTouch,
  type DatasetConfig,
} from './training-configs.js';
import { parseScriptArgs } from './script-args.js';

/** Where synth_cases.py writes its scans (ignored by git: drawn again from ../shared on any machine). */
const SYNTHETIC_SCANS = join(REPO_ROOT, 'training/runs/synthetic');

/**
 * Where a training patient's image and labels are, relative to ../shared/data (or absolute), for the data
 * sets with real images and SynthSeg's drawn ones.
 */
const TRAINING_CASES: Record<string, (patient: string) => Array<{ image: string; labels: string }>> = {
  acdc: (p) =>
    readdirSync(join(sharedData(), 'acdc', p))
      .filter((f) => /_frame\d+\.nii\.gz$/.test(f))
      .map((f) => ({ image: `acdc/${p}/${f}`, labels: `acdc/${p}/${f.replace('.nii.gz', '_gt.nii.gz')}` })),
  msd_hippocampus: (p) => [{ image: `hippocampus/images/${p}.nii.gz`, labels: `hippocampus/labels/${p}.nii.gz` }],
  brats2015_flair: (p) => [
    { image: `brats2015/train/${p}/Flair_subtrMeanDivStd.nii.gz`, labels: `brats2015/train/${p}/OTMultiClass.nii.gz` },
  ],
  brats2015_t1c: (p) => [
    { image: `brats2015/train/${p}/T1c_subtrMeanDivStd.nii.gz`, labels: `brats2015/train/${p}/OTMultiClass.nii.gz` },
  ],
  openkbp: (p) => [{ image: `openkbp/${p}_ct.nii.gz`, labels: `openkbp/${p}_oars.nii.gz` }],
  btcv_ct_half: (p) => [{ image: `btcv_ct_half/${p}_img.nii.gz`, labels: `btcv_ct_half/${p}_label.nii.gz` }],
  mscmr_bssfp: (p) => [{ image: `mscmr_bssfp/${p}_img.nii.gz`, labels: `mscmr_bssfp/${p}_label.nii.gz` }],
  chaos_mr: (p) => [{ image: `chaos_mr/${p}_img.nii.gz`, labels: `chaos_mr/${p}_label.nii.gz` }],
  // No real scan: T1-like images drawn from the training label maps (training/medparse_train/synth_cases.py)
  synthseg: (p) => [{ image: join(SYNTHETIC_SCANS, 'synthseg', `${p}_t1.nii.gz`), labels: `synthseg/${p}.nii.gz` }],
  totalseg_ct: () => [
    {
      image: 'totalsegmentator/ct/example_ct.nii.gz',
      labels: 'totalsegmentator/ct/example_seg_fast_force_split.nii.gz',
    },
  ],
};

const USAGE = `usage: npm run calibrate -- [--cases N] [--negatives N] [--model DIR] [--networks a,b] [--dry-run]
       [--samples FILE] [--from-samples FILE] [--max-working-voxels N] [--anchors N]`;
const { values } = parseScriptArgs('calibrate', USAGE, () =>
  parseArgs({
    options: {
      cases: { type: 'string', default: '4' },
      negatives: { type: 'string', default: '2' },
      model: { type: 'string', default: DEFAULT_MODEL_DIR },
      'dry-run': { type: 'boolean', default: false },
      networks: { type: 'string' },
      samples: { type: 'string' },
      'from-samples': { type: 'string' },
      /** Skip scans whose grid at the network's spacing exceeds this many voxels (a time budget on a CPU). */
      'max-working-voxels': { type: 'string' },
      /** Choose this many landmark rows for each network named in --networks; without it they are kept. */
      anchors: { type: 'string' },
    },
  }),
);
const maxWorkingVoxels = values['max-working-voxels'] === undefined ? Infinity : Number(values['max-working-voxels']);

function sharedData(): string {
  const shared = sharedDir();
  if (!shared) throw new Error('calibration needs ../shared/data beside the repository');
  return join(shared, 'data');
}

const manifestPath = modelManifestPath(values.model);
/** A bad argument: one line saying what to do, no stack trace. */
function usageError(message: string): never {
  console.error(`calibrate: ${message}`);
  process.exit(2);
}

if (!existsSync(manifestPath)) usageError(`no model package in ${values.model}`);
if (values.anchors !== undefined && !(Number.isInteger(Number(values.anchors)) && Number(values.anchors) >= 0))
  usageError(`--anchors: a count of landmark rows (0 for none), got "${values.anchors}"`);
// A network reading several regions (body-ct) must never get landmarks by default: name the networks.
if (values.anchors !== undefined && !values.networks)
  usageError('--anchors: name the networks that get landmark rows with --networks (e.g. brain-structures-mr)');
if (values['from-samples'] && !existsSync(values['from-samples']))
  usageError(`--from-samples: no file ${values['from-samples']} (write one with --samples FILE)`);
// Withheld concepts are calibrated too: --experimental answers them, and they may earn their way back.
const engine = ParseEngine.load(values.model, { experimental: true });
const candidates = new Map(
  engine.model.networks.map((n) => [
    n.id,
    candidateGroups(
      n.concepts.map((c) => c.id),
      engine.vocabulary,
    ),
  ]),
);
// Judge islands and groups on the networks' own answers: the package's current choices are switched
// off (sampled with single_component on, "all" and "largest" agree and a re-run would turn it off).
for (const network of engine.model.networks) {
  network.connectedGroups.splice(0);
  for (const concept of network.concepts)
    for (const calibration of Object.values(concept.calibration))
      if (calibration) {
        calibration.singleComponent = false;
        calibration.dropMinorIslands = false;
      }
}
const splits = JSON.parse(readFileSync(join(REPO_ROOT, 'training/splits.json'), 'utf8')) as {
  datasets: Record<string, { train_patients: string[]; image_to_hu?: number[] }>;
};
const samples = new Map<string, CalibrationSample[]>(
  values['from-samples']
    ? Object.entries(JSON.parse(readFileSync(values['from-samples'], 'utf8')) as Record<string, CalibrationSample[]>)
    : [],
);

const shippedConfigs = loadTrainingConfigs(new Set(engine.model.networks.map((n) => n.id)));
const onlyNetworks = values.networks?.split(',');
const unknownNetworks = onlyNetworks?.filter((id) => !shippedConfigs.some((c) => c.network_id === id)) ?? [];
if (unknownNetworks.length)
  usageError(
    `--networks: ${unknownNetworks.join(', ')} not in the package (${shippedConfigs.map((c) => c.network_id).join(', ')})`,
  );
/** One data set's training cases run through one network: its labelled concepts and those known absent. */
interface CalibrationJob {
  dataset: string;
  labelled: Record<string, number[]>;
  absent: string[];
  limit: number;
  modality: string;
  networkId: string;
}

const jobs: CalibrationJob[] = [];
for (const config of values['from-samples'] ? [] : shippedConfigs) {
  if (onlyNetworks && !onlyNetworks.includes(config.network_id)) continue;
  const modality = config.modalities[0];
  const networkId = config.network_id;
  const networkConcepts = engine.model.networks.find((n) => n.id === networkId)?.concepts.map((c) => c.id) ?? [];
  for (const dataset of config.datasets) {
    const labelled = conceptValues(dataset, networkConcepts);
    const absent = (dataset.absent ?? []).filter((id) => networkConcepts.includes(id));
    const limit = Object.keys(labelled).length ? Number(values.cases) : Number(values.negatives);
    jobs.push({ dataset: dataset.name, labelled, absent, limit, modality, networkId });
  }
  // Scans of another region-specific network's data certainly lack this network's concepts
  // (no hippocampus in a cardiac stack, no ventricle of the heart in a head).
  const otherRegions = shippedConfigs.filter(
    (c) => c !== config && c.modalities.includes(modality) && !regionsTouch(c, config),
  );
  for (const other of otherRegions) {
    // Data sets this network's own config already lists are not counted twice.
    const own = new Set(config.datasets.map((d) => d.name));
    const labelledSets = other.datasets.filter(
      (d: DatasetConfig) => Object.keys(conceptValues(d, other.concepts)).length,
    );
    for (const dataset of labelledSets.filter((d) => !own.has(d.name)))
      jobs.push({
        dataset: dataset.name,
        labelled: {},
        absent: networkConcepts,
        limit: Number(values.negatives),
        modality,
        networkId,
      });
  }
}
// Every scan is looked for before the first is run: a missing one ends the run now, not after an hour.
const missing = jobs
  .flatMap((job) => jobCases(job).map((c) => resolve(sharedData(), c.image)))
  .filter((p) => !existsSync(p));
if (missing.length) {
  const more = missing.length > 1 ? ` (and ${missing.length - 1} more scans)` : '';
  const remedy = missing[0].startsWith(sharedData())
    ? `the scan is not in ${sharedData()}: check it against its README`
    : 'draw the synthetic scans first: cd training && /usr/bin/python3 -m medparse_train.synth_cases';
  usageError(`${missing[0]}: missing${more}; ${remedy}`);
}
for (const job of jobs) await calibrateOn(job);

/** The training cases a job runs on: up to `limit` of its data set's, none when it asks nothing. */
function jobCases({ dataset, labelled, absent, limit }: CalibrationJob) {
  const locate = TRAINING_CASES[dataset];
  if (!locate || Object.keys(labelled).length + absent.length === 0) return [];
  return (splits.datasets[dataset]?.train_patients ?? []).flatMap(locate).slice(0, limit);
}

/** Runs the engine on a job's cases; `labelled` maps concepts to label values. */
async function calibrateOn(job: CalibrationJob): Promise<void> {
  const { dataset, labelled, absent, modality, networkId } = job;
  const labelledIds = Object.keys(labelled);
  for (const c of jobCases(job)) {
    const imagePath = resolve(sharedData(), c.image);
    const image = asHounsfield(await readVolume(imagePath), splits.datasets[dataset]?.image_to_hu);
    const network = engine.model.networks.find((n) => n.id === networkId);
    const [sx, sy, sz] = spacingOf(image);
    const working = network
      ? (image.data.length * sx * sy * sz) / (network.spacing[0] * network.spacing[1] * network.spacing[2])
      : 0;
    if (working > maxWorkingVoxels) {
      console.error(`${networkId} ${c.image}: skipped (${(working / 1e6).toFixed(1)} M working voxels)`);
      continue;
    }
    const labels = labelledIds.length ? await readVolume(resolve(sharedData(), c.labels)) : undefined;
    const ids = [...labelledIds, ...absent.filter((id) => !labelledIds.includes(id))];
    const result = await engine.segmentConcepts(image, ids, { modality });
    // Scored only where the parts are labelled (the Dice needs them); a scan of negatives skips it.
    const groupPieces = new Map(
      (labels ? (candidates.get(networkId) ?? []) : []).flatMap((group) => {
        const masks = group.flatMap((id) => result.prompts[ids.indexOf(id)]?.probability ?? []);
        const piece = largestUnionPiece(masks, image, 0) ?? new Uint8Array(image.data.length);
        return group.map((id) => [id, piece] as const);
      }),
    );
    result.prompts.forEach((prompt, n) => {
      const id = ids[n];
      const values = labelled[id];
      const positive = values !== undefined && labels !== undefined && labels.data.some((v) => values.includes(v));
      // A labelled concept missing from this volume's labels is unknown, not absent (OpenKBP contours some
      // organs per patient), unless the config lists it as certainly absent; eval scores it the same way.
      if (values !== undefined && !positive && !absent.includes(id)) return;
      const diceOf = positive && labels ? islandDice(prompt, labels, values, image, groupPieces.get(id)) : undefined;
      record(id, modality, prompt, positive, diceOf);
    });
    console.error(`${networkId} ${c.image}: ${ids.length} concepts`);
  }
}
await engine.dispose();
writeCalibration();

/**
 * Dice of the answer, of its largest island alone, without its islands under a tenth of the largest and,
 * for a part of a candidate group, of the answer inside the group's largest piece, against the truth on
 * the input grid.
 */
function islandDice(
  prompt: PromptResult,
  labels: Volume,
  values: number[],
  grid: Volume,
  groupPiece?: Uint8Array,
): CalibrationSample['dice'] {
  if (!prompt.probability) return undefined;
  const truthMask = labelMask(labels, values);
  const mask = { ...grid, data: prompt.probability };
  const largest = keepLargest(mask, 1, { connectivity: 26 }).data as Uint8Array;
  const inPiece = groupPiece && prompt.probability.map((p, i) => (groupPiece[i] ? p : 0));
  return {
    all: dice(prompt.probability, truthMask),
    largest: dice(largest, truthMask),
    minor: dice(withoutMinorIslands(mask), truthMask),
    ...(inPiece ? { group: dice(inPiece, truthMask) } : {}),
  };
}

function record(
  id: string,
  modality: string,
  prompt: PromptResult,
  positive: boolean,
  diceOf?: CalibrationSample['dice'],
): void {
  const e = prompt.evidence;
  if (!e) return;
  const key = `${id}|${modality}`;
  const list = samples.get(key) ?? [];
  list.push({
    positive,
    logit: e.presenceLogit ?? -Infinity,
    s1: e.meanProbability,
    s2: e.meanIntensity,
    volumeMl: e.volumeMl,
    voxels: e.voxels,
    dice: diceOf,
  });
  samples.set(key, list);
}

function writeCalibration(): void {
  const manifest = readModelManifest(values.model);
  console.log('| concept | modality | positives | negatives | threshold | Beta s1 | Beta s2 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const network of manifest.networks) {
    for (const concept of network.concepts) {
      for (const modality of network.modalities) {
        const list = samples.get(`${concept.id}|${modality}`);
        if (!list) continue;
        const positives = list.filter((s) => s.positive && s.voxels > 0);
        const negatives = list.filter((s) => !s.positive);
        if (!canCalibrate(positives, negatives)) continue;
        const calibration = fitCalibration(positives, negatives, islandKind(concept.id));
        concept.calibration = { ...(concept.calibration ?? {}), [modality]: calibration };
        const fmt = (p: number[] | undefined) => (p ? p.map((v) => v.toFixed(2)).join(', ') : 'not fitted');
        console.log(
          `| ${concept.id} | ${modality} | ${positives.length} | ${negatives.length} | ${calibration.presence_threshold.toFixed(2)} | ${fmt(calibration.probability_beta)} | ${fmt(calibration.intensity_beta)} |`,
        );
      }
    }
  }
  for (const network of manifest.networks) {
    const groups = candidates.get(network.id) ?? [];
    // Only groups with group Dice in the samples are judged: a network not run now, or samples written
    // before groups existed (--from-samples), keep the package's choice.
    const judged = groups.filter((group) =>
      group.some((id) => samplesOf(id, network.modalities).some((s) => s.dice?.group !== undefined)),
    );
    if (judged.length === 0) continue;
    network.connected_groups = judged.filter((group) =>
      connectedGroupHelps(group.map((id) => samplesOf(id, network.modalities).filter((s) => s.positive))),
    );
    console.log(`${network.id}: connected groups ${JSON.stringify(network.connected_groups)}`);
  }
  if (values.anchors !== undefined) {
    for (const network of manifest.networks.filter((n) => onlyNetworks?.includes(n.id))) {
      const bySample = new Map(network.concepts.map((c) => [c.id, samplesOf(c.id, network.modalities)]));
      // a network with no samples here (not run, not in --from-samples) keeps its landmarks
      if (![...bySample.values()].some((list) => list.length)) continue;
      network.anchors = chooseAnchors(bySample, Number(values.anchors));
      console.log(`${network.id}: anchors ${JSON.stringify(network.anchors)}`);
    }
  }
  if (!values['dry-run']) writeModelManifest(values.model, manifest);
  if (values.samples) writeFileSync(values.samples, JSON.stringify(Object.fromEntries(samples), null, 1));
}

/** An unknown concept is treated as a lesion: none of its islands is dropped unless they proved false. */
function islandKind(id: string): IslandKind {
  const known = engine.vocabulary.get(id);
  if (!known || known.category === 'lesion') return 'lesion';
  return engine.vocabulary.occursOnBothSides(id) ? 'paired' : 'single';
}

function samplesOf(id: string, modalities: string[]): CalibrationSample[] {
  return modalities.flatMap((modality) => samples.get(`${id}|${modality}`) ?? []);
}
