/** One evaluated case's Dice for a concept (one entry of a row of eval's table). */
export interface CaseDice {
  dataset: string;
  patient: string;
  dice: number;
}

/** A row of eval's table: how many cases, their mean Dice, and the worst one. */
export interface DiceSummary {
  cases: number;
  meanDice: number;
  lowestDice: number;
  /** `dataset/patient` of the lowest case (a row may pool data sets whose patient ids repeat); on a tie, the first measured. */
  lowestCase: string;
}

/** Summarises a row's cases, in the order they were measured; undefined for none. */
export function summarizeDice(cases: readonly CaseDice[]): DiceSummary | undefined {
  if (!cases.length) return undefined;
  let lowest = cases[0];
  let sum = 0;
  for (const c of cases) {
    sum += c.dice;
    if (c.dice < lowest.dice) lowest = c;
  }
  return {
    cases: cases.length,
    meanDice: sum / cases.length,
    lowestDice: lowest.dice,
    lowestCase: `${lowest.dataset}/${lowest.patient}`,
  };
}

/** The table's `lowest (case)` cell: `0.612 (acdc/patient012)`. */
export function lowestCell(summary: DiceSummary): string {
  return `${summary.lowestDice.toFixed(3)} (${summary.lowestCase})`;
}
