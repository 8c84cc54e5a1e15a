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
 * the reason a user reads ("held-out Dice 0.19 on 4 scans (BraTS FLAIR: 2 at 0.31; BraTS T1c: 2 at 0.07)").
 * `datasetNames` turns data-set ids into the names a user knows; an id without one is shown as it is.
 */
export function releaseGate(
  measured: MeasuredConcept[],
  floor: number,
  modelVersion: string,
  datasetNames: Readonly<Record<string, string>> = {},
): GateVerdict[] {
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
      const meanDice = mean(m.dice);
      const withheld =
        meanDice < floor
          ? `held-out Dice ${meanDice.toFixed(2)} on ${scans(m.dice.length)} (${perDataset(m, datasetNames)}), below the ${floor.toFixed(2)} ` +
            `that model ${modelVersion} must reach to answer it`
          : undefined;
      return { networkId: m.networkId, conceptId: m.conceptId, meanDice, withheld };
    });
}

/** Each data set's share of a pooled measurement: "BraTS FLAIR: 2 at 0.31". */
function perDataset(m: MeasuredConcept, names: Readonly<Record<string, string>>): string {
  return [...new Set(m.datasets)]
    .map((dataset) => {
      const dice = m.dice.filter((_, n) => m.datasets[n] === dataset);
      return `${names[dataset] ?? dataset}: ${dice.length} at ${mean(dice).toFixed(2)}`;
    })
    .join('; ');
}

function scans(count: number): string {
  return `${count} scan${count === 1 ? '' : 's'}`;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
