import type { Vocabulary } from '../vocab/index.js';
import { fitBeta } from './presence.js';

/**
 * Fitting a concept's presence calibration (docs/model-contract.md, "Calibration") from the engine's
 * answers on calibration cases; `npm run calibrate` collects the samples and writes the result into
 * model.json.
 */

/** One calibration case's answer for a concept: was it there, and what did the engine say. */
export interface CalibrationSample {
  positive: boolean;
  logit: number;
  s1: number;
  s2: number;
  volumeMl: number;
  voxels: number;
  /**
   * Positives only: Dice of the mask, of its largest 26-connected island alone, of the mask without its
   * islands under a tenth of the largest (`minor`; judged for lesions), and (for a part of a candidate
   * connected group) of the mask inside the largest piece of the group's union.
   */
  dice?: { all: number; largest: number; minor?: number; group?: number };
}

/**
 * How a concept's islands may be pruned: a lesion can be many (a metastasis is not noise, unless
 * calibration finds its small islands mostly false), a paired structure is two, any other one.
 */
export type IslandKind = 'lesion' | 'paired' | 'single';

/** As model.json stores it. */
export interface FittedCalibration {
  probability_beta?: [number, number];
  intensity_beta?: [number, number];
  presence_threshold: number;
  presence_platt: [number, number];
  min_volume_ml: number;
  max_volume_ml: number;
  single_component: boolean;
  /** Lesions only: drop islands under a tenth of the largest, as the engine always does for anatomy. */
  drop_minor_islands?: boolean;
}

/** Fewer positive cases than this give Beta fits too narrow to trust: the Beta test is then left out. */
export const MIN_POSITIVES_FOR_BETA = 8;

/**
 * Whether a concept's samples can place a calibration: one real positive is enough when there are
 * negatives to put the threshold above (body-ct's abdominal organs have one real CT, and uncalibrated they
 * took any positive logit: "kidney" was accepted in 5 of 10 held-out head-and-neck CTs); without
 * negatives it takes two positives.
 */
export function canCalibrate(
  positives: readonly CalibrationSample[],
  negatives: readonly CalibrationSample[],
): boolean {
  return positives.length >= (negatives.length ? 1 : 2);
}

/**
 * positives: cases with the concept and a non-empty mask; negatives: cases certainly without it;
 * islands: only a 'single' concept may be reduced to its largest island, only a lesion keeps its small
 * islands unless they proved mostly false.
 */
export function fitCalibration(
  positives: CalibrationSample[],
  negatives: CalibrationSample[],
  islands: IslandKind,
): FittedCalibration {
  const negativeLogits = negatives
    .map((s) => s.logit)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  // Lowest threshold with at most 5 % of the negatives above it; never below the contract's default 0.
  const allowed = Math.floor(0.05 * negativeLogits.length);
  const threshold = negativeLogits.length ? Math.max(0, negativeLogits[negativeLogits.length - 1 - allowed] + 1e-3) : 0;
  const tooFewForBeta = positives.length < MIN_POSITIVES_FOR_BETA;
  const betas = !tooFewForBeta
    ? { probability_beta: fitBeta(positives.map((s) => s.s1)), intensity_beta: fitBeta(positives.map((s) => s.s2)) }
    : {};
  return {
    ...betas,
    presence_threshold: presenceThreshold(threshold, positives, tooFewForBeta),
    presence_platt: plattFit([...positives, ...negatives]),
    min_volume_ml: Math.min(...positives.map((s) => s.volumeMl)) / 5,
    max_volume_ml: Math.max(...positives.map((s) => s.volumeMl)) * 5,
    single_component: islands === 'single' && largestIslandHelps(positives),
    ...(islands === 'lesion' ? { drop_minor_islands: droppingMinorIslandsHelps(positives) } : {}),
  };
}

/**
 * The negatives' threshold, lowered to the weakest positive so no calibration positive is rejected. With
 * too few positives for the Beta test the threshold is the only guard, and calibration cases are training
 * patients, on which the network is more certain both ways than on new ones (BraTS training tumours read
 * logits 9 to 15, held-out ones 6 to 11; cardiac MR 1.6 at most in training, up to 4.8 held out). So when
 * the classes separate, the threshold goes halfway between the highest negative and the lowest positive.
 */
function presenceThreshold(fromNegatives: number, positives: CalibrationSample[], tooFewForBeta: boolean): number {
  const weakest = Math.min(...positives.map((s) => s.logit));
  if (tooFewForBeta && fromNegatives < weakest) return (fromNegatives + weakest) / 2;
  return Math.min(fromNegatives, weakest);
}

function largestIslandHelps(positives: CalibrationSample[]): boolean {
  return improves(positives.flatMap((s) => (s.dice ? [[s.dice.all, s.dice.largest] as const] : [])));
}

/** Whether dropping a lesion's small islands raised its Dice (BraTS whole tumour: 58 to 263 islands a scan). */
function droppingMinorIslandsHelps(positives: CalibrationSample[]): boolean {
  return improves(positives.flatMap((s) => (s.dice?.minor !== undefined ? [[s.dice.all, s.dice.minor] as const] : [])));
}

/**
 * Whether keeping only the largest piece of a candidate group's union helps its parts: `members` holds
 * each part's samples; their Dice with and without the rule are pooled.
 */
export function connectedGroupHelps(members: CalibrationSample[][]): boolean {
  return improves(
    members.flat().flatMap((s) => (s.dice?.group !== undefined ? [[s.dice.all, s.dice.group] as const] : [])),
  );
}

/** nnU-Net's per-class post-processing test: a mean Dice gain, and no case much worse (at least 3 cases). */
function improves(pairs: ReadonlyArray<readonly [before: number, after: number]>): boolean {
  if (pairs.length < 3) return false;
  const gain = pairs.reduce((sum, [before, after]) => sum + after - before, 0) / pairs.length;
  return gain > 0.005 && pairs.every(([before, after]) => after - before > -0.05);
}

/**
 * Candidate connected groups of a network's concepts: the parts of one unpaired organ (the heart's
 * ventricles and myocardium), grouped by their nearest such ancestor. Lesions and paired structures
 * are left out: their pieces lie apart by nature.
 */
export function candidateGroups(conceptIds: readonly string[], vocabulary: Vocabulary): string[][] {
  const byOrgan = new Map<string, string[]>();
  for (const id of conceptIds) {
    const concept = vocabulary.get(id);
    if (!concept || concept.category === 'lesion' || vocabulary.occursOnBothSides(id)) continue;
    const organ = vocabulary
      .ancestors(id)
      .find((a) => a.category === 'organ' && a.laterality === null && !vocabulary.occursOnBothSides(a.id));
    if (organ) byOrgan.set(organ.id, [...(byOrgan.get(organ.id) ?? []), id]);
  }
  return [...byOrgan.values()].filter((group) => group.length >= 2);
}

/** Logistic regression of presence on the logit, by gradient descent (a handful of points). */
function plattFit(all: CalibrationSample[]): [number, number] {
  const points = all.filter((s) => Number.isFinite(s.logit));
  let a = 1;
  let b = 0;
  for (let step = 0; step < 2000; step++) {
    let ga = 0;
    let gb = 0;
    for (const s of points) {
      const p = 1 / (1 + Math.exp(-(a * s.logit + b)));
      const y = s.positive ? 1 : 0;
      ga += (p - y) * s.logit;
      gb += p - y;
    }
    a -= (0.05 * ga) / points.length;
    b -= (0.05 * gb) / points.length;
  }
  return [a, b];
}

/**
 * A network's landmark rows (model.json `anchors`): the `count` concepts whose presence logits separate
 * the calibration positives from the negatives by the widest margin (weakest positive minus strongest
 * negative), among those found, non-empty, on every positive case. Chosen only where asked (`calibrate
 * --anchors N`): a network that reads several regions (body-ct: abdomen and head-and-neck) has no
 * landmark every scan of its own shows.
 */
export function chooseAnchors(
  samplesByConcept: ReadonlyMap<string, readonly CalibrationSample[]>,
  count: number,
): string[] {
  const margins: Array<{ id: string; margin: number }> = [];
  for (const [id, samples] of samplesByConcept) {
    const positives = samples.filter((s) => s.positive);
    const negatives = samples.filter((s) => !s.positive);
    if (!positives.length || !negatives.length || positives.some((s) => s.voxels === 0)) continue;
    const margin = Math.min(...positives.map((s) => s.logit)) - Math.max(...negatives.map((s) => s.logit));
    if (margin > 0) margins.push({ id, margin });
  }
  return margins
    .sort((a, b) => b.margin - a.margin)
    .slice(0, count)
    .map((m) => m.id);
}
