/** Held-out Dice of one network's concept, pooled over every evaluated case. */
export interface MeasuredConcept {
  networkId: string;
  conceptId: string;
  dice: number[];
  /** Data set of each case, in the order of `dice`. */
  datasets: string[];
}

/** The gate's verdict for one measured concept: the reason it is withheld, or undefined when it is answered. */
export interface GateVerdict {
  networkId: string;
  conceptId: string;
  meanDice: number;
  withheld: string | undefined;
}

/**
 * The release gate: a concept whose mean held-out Dice is below `floor` is withheld, with the
 * measurement as the reason a user reads ("held-out Dice 0.07 on 4 scans (2 brats2015_flair, ...)").
 */
export function releaseGate(measured: MeasuredConcept[], floor: number, modelVersion: string): GateVerdict[] {
  return measured
    .filter((m) => m.dice.length > 0)
    .map((m) => {
      const meanDice = m.dice.reduce((a, b) => a + b, 0) / m.dice.length;
      const counts = [...new Set(m.datasets)].map((d) => `${m.datasets.filter((x) => x === d).length} ${d}`).join(', ');
      const scans = `${m.dice.length} scan${m.dice.length === 1 ? '' : 's'}`;
      const withheld =
        meanDice < floor
          ? `held-out Dice ${meanDice.toFixed(2)} on ${scans} (${counts}), below the ${floor.toFixed(2)} ` +
            `that model ${modelVersion} must reach to answer it`
          : undefined;
      return { networkId: m.networkId, conceptId: m.conceptId, meanDice, withheld };
    });
}
