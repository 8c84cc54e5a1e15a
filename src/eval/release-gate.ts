/** Held-out Dice of one network's concept on some evaluated cases (one row of eval's table). */
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
 * The release gate: measurements of one network's concept (several rows, e.g. crops and a whole scan)
 * are pooled; a concept whose mean held-out Dice is below `floor` is withheld, with the measurement as
 * the reason a user reads ("held-out Dice 0.07 on 4 scans (2 brats2015_flair, ...)").
 */
export function releaseGate(measured: MeasuredConcept[], floor: number, modelVersion: string): GateVerdict[] {
  const pooled = new Map<string, MeasuredConcept>();
  for (const m of measured) {
    const key = `${m.networkId}|${m.conceptId}`;
    const entry = pooled.get(key) ?? { networkId: m.networkId, conceptId: m.conceptId, dice: [], datasets: [] };
    entry.dice.push(...m.dice);
    entry.datasets.push(...m.datasets);
    pooled.set(key, entry);
  }
  return [...pooled.values()]
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
