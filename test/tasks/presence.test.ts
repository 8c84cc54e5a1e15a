import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  betaCdf,
  decidePresence,
  fitBeta,
  lowerTailBetaP,
  MAX_BETA_CONCENTRATION,
  twoSidedBetaP,
  type PresenceEvidence,
} from '../../src/tasks/presence.js';

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

describe('Beta distribution', () => {
  it('matches closed forms: Beta(1,1) is uniform, Beta(2,1) has CDF x^2, Beta(1,3) 1 - (1 - x)^3', () => {
    for (const x of [0.05, 0.3, 0.5, 0.9]) {
      close(betaCdf(x, 1, 1), x);
      close(betaCdf(x, 2, 1), x * x);
      close(betaCdf(x, 1, 3), 1 - (1 - x) ** 3);
    }
    assert.equal(betaCdf(0, 2, 3), 0);
    assert.equal(betaCdf(1, 2, 3), 1);
  });

  it('fits the moments of its sample', () => {
    const values = [0.5, 0.7, 0.3, 0.6, 0.4, 0.55];
    const [a, b] = fitBeta(values);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
    close(a / (a + b), mean, 1e-9);
    close((a * b) / ((a + b) ** 2 * (a + b + 1)), variance, 1e-9);
  });

  it('caps the concentration of a fit on a tight sample, keeping its mean', () => {
    const values = [0.74, 0.75, 0.73, 0.745, 0.735, 0.742];
    const [a, b] = fitBeta(values);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    close(a + b, MAX_BETA_CONCENTRATION, 1e-9);
    close(a / (a + b), mean, 1e-9);
    // a new patient 0.1 brighter than the mean passes the capped fit, and failed the uncapped one
    assert.ok(twoSidedBetaP(mean + 0.1, [a, b]) > 0.05);
    assert.ok(twoSidedBetaP(mean + 0.1, [74.65, 26.13]) < 0.05);
  });

  it('tests the mean probability on its lower tail and the intensity on both', () => {
    const fit: [number, number] = [129.4, 18.6]; // mean 0.874, narrow: the fitted right ventricle
    assert.equal(lowerTailBetaP(0.93, fit), 1);
    assert.ok(twoSidedBetaP(0.93, fit) < 0.05);
    assert.ok(lowerTailBetaP(0.75, fit) < 0.05);
    close(lowerTailBetaP(0.75, fit), twoSidedBetaP(0.75, fit), 1e-12);
  });
});

describe('decidePresence', () => {
  const calibration = {
    presenceThreshold: 1,
    probabilityBeta: [129.4, 18.6] as [number, number],
    intensityBeta: [30, 30] as [number, number],
    presencePlatt: [1, 0] as [number, number],
    minVolumeMl: 2,
    maxVolumeMl: 500,
  };
  const typical: PresenceEvidence = {
    voxels: 5000,
    volumeMl: 100,
    presenceLogit: 6,
    meanProbability: 0.87,
    meanIntensity: 0.5,
  };

  it('accepts a typical mask and a more confident one', () => {
    assert.equal(decidePresence(typical, calibration).status, 'present');
    const confident = decidePresence({ ...typical, meanProbability: 0.95 }, calibration);
    assert.equal(confident.status, 'present');
    close(confident.score, 1 / (1 + Math.exp(-6)));
  });

  it('rejects, with the reason, a hesitant mask, an unusual intensity either way, a low logit, a speck', () => {
    const cases: Array<[Partial<PresenceEvidence>, RegExp]> = [
      [{ meanProbability: 0.7 }, /unlike validation masks/],
      [{ meanIntensity: 0.2 }, /unlike validation masks/],
      [{ meanIntensity: 0.8 }, /unlike validation masks/],
      [{ presenceLogit: 0.5 }, /below the threshold 1\.00/],
      [{ volumeMl: 0.5 }, /below the smallest plausible 2.00 mL/],
      [{ volumeMl: 600 }, /above the largest plausible 500.00 mL/],
      [{ voxels: 0 }, /empty/],
    ];
    for (const [change, reason] of cases) {
      const decision = decidePresence({ ...typical, ...change }, calibration);
      assert.equal(decision.status, 'absent', JSON.stringify(change));
      assert.ok(decision.score <= 0.5);
      assert.ok(
        decision.reasons.some((r) => reason.test(r)),
        `${JSON.stringify(change)}: ${decision.reasons}`,
      );
    }
  });

  it('without calibration decides on the raw logit alone', () => {
    const decision = decidePresence({ ...typical, presenceLogit: -0.1 }, undefined);
    assert.equal(decision.status, 'absent');
    assert.equal(decision.calibrated, false);
    assert.equal(decidePresence({ ...typical, presenceLogit: 0.1 }, undefined).status, 'present');
  });
});
