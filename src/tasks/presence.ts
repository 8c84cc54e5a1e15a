import type { PresenceCalibration } from '../runtime/model-package.js';

/**
 * Is the prompted object in the scan? The network's presence logit gives a first answer; the
 * BiomedParse test then checks that the predicted mask looks like the masks this concept had on
 * validation scans: its mean probability (s1, lower tail) and mean normalised intensity (s2, both
 * tails) are each tested against a Beta distribution fitted there, and the p-values are combined by
 * geometric mean.
 */
export interface PresenceEvidence {
  voxels: number;
  volumeMl: number;
  presenceLogit: number;
  /** Mean probability inside the working-grid mask (s1). */
  meanProbability: number;
  /** Mean normalised intensity inside the working-grid mask, squashed to 0..1 (s2). */
  meanIntensity: number;
  /**
   * Share of the working-grid mask on voxels without signal (exactly 0 in an MR image normalised over its
   * nonzero voxels: outside a skull-stripped brain, beyond a masked field); absent for other normalisations.
   */
  emptyFraction?: number;
}

export type PresenceStatus = 'present' | 'absent';

export interface PresenceDecision {
  status: PresenceStatus;
  /** 0..1: how sure medparse is that the object is present. */
  score: number;
  pValue: number | null;
  reasons: string[];
  calibrated: boolean;
}

/** p-value below which the mask is judged unlike the concept's validation masks. */
export const REJECTION_P_VALUE = 0.05;

/**
 * A mask mostly on voxels without signal is not anatomy: heart-mr's "right ventricle" in a skull-stripped
 * brain T1 (82.7 mL, all of it on the zeros around the brain) was accepted at score 0.99.
 */
export const MAX_EMPTY_FRACTION = 0.5;

export function decidePresence(
  evidence: PresenceEvidence,
  calibration: PresenceCalibration | undefined,
): PresenceDecision {
  const reasons: string[] = [];
  const threshold = calibration?.presenceThreshold ?? 0;
  const score = presenceScore(evidence, calibration);
  if (evidence.voxels === 0) reasons.push('the predicted mask is empty');
  if (evidence.presenceLogit < threshold)
    reasons.push(`presence logit ${evidence.presenceLogit.toFixed(2)} is below the threshold ${threshold.toFixed(2)}`);
  const minVolume = calibration?.minVolumeMl ?? 0;
  if (evidence.voxels > 0 && evidence.volumeMl < minVolume)
    reasons.push(
      `volume ${evidence.volumeMl.toFixed(2)} mL is below the smallest plausible ${minVolume.toFixed(2)} mL`,
    );
  const maxVolume = calibration?.maxVolumeMl ?? Infinity;
  if (evidence.volumeMl > maxVolume)
    reasons.push(`volume ${evidence.volumeMl.toFixed(2)} mL is above the largest plausible ${maxVolume.toFixed(2)} mL`);
  if (evidence.voxels > 0 && (evidence.emptyFraction ?? 0) > MAX_EMPTY_FRACTION)
    reasons.push(
      `${Math.round(100 * (evidence.emptyFraction ?? 0))} % of the mask lies where the image has no signal (value 0)`,
    );
  const pValue = betaTestPValue(evidence, calibration);
  if (pValue !== null && pValue < REJECTION_P_VALUE)
    reasons.push(`the mask is unlike validation masks (p = ${pValue.toFixed(3)})`);
  const status: PresenceStatus = reasons.length === 0 ? 'present' : 'absent';
  return {
    status,
    score: status === 'present' ? score : Math.min(score, 0.5),
    pValue,
    reasons,
    calibrated: calibration?.presenceThreshold !== undefined || pValue !== null,
  };
}

function presenceScore(evidence: PresenceEvidence, calibration: PresenceCalibration | undefined): number {
  if (evidence.voxels === 0) return 0;
  const [a, b] = calibration?.presencePlatt ?? [1, 0];
  return sigmoid(a * evidence.presenceLogit + b);
}

function betaTestPValue(evidence: PresenceEvidence, calibration: PresenceCalibration | undefined): number | null {
  if (evidence.voxels === 0) return 0;
  const tests: number[] = [];
  if (calibration?.probabilityBeta) tests.push(lowerTailBetaP(evidence.meanProbability, calibration.probabilityBeta));
  if (calibration?.intensityBeta) tests.push(twoSidedBetaP(evidence.meanIntensity, calibration.intensityBeta));
  if (tests.length === 0) return null;
  return Math.exp(tests.reduce((sum, p) => sum + Math.log(Math.max(p, 1e-300)), 0) / tests.length);
}

/**
 * The mean probability is tested on its lower tail only, p = min(1, 2F): a mask the network is more
 * sure of than of its validation masks is no evidence of absence (the two-sided test counted a held-out
 * right ventricle at mean probability 0.93 against it because training masks averaged 0.87).
 */
export function lowerTailBetaP(x: number, [a, b]: [number, number]): number {
  return Math.min(1, 2 * betaCdf(Math.min(1, Math.max(0, x)), a, b));
}

/** p = min(1, 2 min(F, 1 - F)) with F the Beta CDF, as BiomedParse. */
export function twoSidedBetaP(x: number, [a, b]: [number, number]): number {
  const f = betaCdf(Math.min(1, Math.max(0, x)), a, b);
  return Math.min(1, 2 * Math.min(f, 1 - f));
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Regularised incomplete beta I_x(a, b) by Lentz's continued fraction (Numerical Recipes betai). */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(x, a, b)) / a
    : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const numerator of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-12) break;
  }
  return h;
}

/** Lanczos approximation of ln Gamma(x), x > 0. */
export function logGamma(x: number): number {
  const g = [
    76.18009172947146, -86.50532032941678, 24.01409824083091, -1.231739572450155, 0.001208650973866179,
    -0.000005395239384953,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let series = 1.00000000019001;
  for (const coefficient of g) series += coefficient / ++y;
  return -tmp + Math.log((2.5066282746310007 * series) / x);
}

/** Method-of-moments Beta fit of values in (0, 1), for calibration. */
export function fitBeta(values: readonly number[]): [number, number] {
  const clamped = values.map((v) => Math.min(1 - 1e-4, Math.max(1e-4, v)));
  const mean = clamped.reduce((s, v) => s + v, 0) / clamped.length;
  const variance = Math.max(1e-6, clamped.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, clamped.length - 1));
  const common = Math.min(MAX_BETA_CONCENTRATION, Math.max(1e-3, (mean * (1 - mean)) / variance - 1));
  return [mean * common, (1 - mean) * common];
}

/**
 * Upper bound of a + b in a fitted Beta: a dozen calibration volumes (a few patients) give spreads far
 * narrower than a new patient's, and MR intensities have no absolute scale. At 30 the standard deviation
 * is at least ~0.08 around a mean of 0.75; a fit on 12 ACDC volumes (a + b = 101, sd 0.04) rejected a
 * held-out right ventricle 0.15 brighter than its mean.
 */
export const MAX_BETA_CONCENTRATION = 30;
