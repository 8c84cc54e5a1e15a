import { describeScope, SCAN_SCOPES, type ScanScope } from '../runtime/scan-scope.js';

/** Held-out Dice of one network's concept on some evaluated cases (one row of eval's table). */
export interface MeasuredConcept {
  networkId: string;
  conceptId: string;
  dice: number[];
  /** Data set of each case, in the order of `dice`. */
  datasets: string[];
  /** Kind of scan of each case (a crop or a whole region), in the order of `dice`. */
  scopes: ScanScope[];
}

/** The gate's verdict for one concept of a network. */
export interface GateVerdict {
  networkId: string;
  conceptId: string;
  /** Mean held-out Dice over every measured case; undefined for a concept judged only through its whole. */
  meanDice: number | undefined;
  /**
   * Why the concept is withheld on every kind of scan, or undefined when it is answered on some. Only a
   * measured concept (meanDice defined) has this verdict: the mark of an unmeasured one stays as it is.
   */
  withheld: string | undefined;
  /**
   * Per kind of scan judged: why the concept is withheld on it alone (it fails there and works on the
   * other), or null where it is answered there. A kind not judged is absent: its mark stays as it is.
   */
  withheldOn: Partial<Record<ScanScope, string | null>>;
}

/**
 * The release gate. One network's measurements of a concept (several rows, e.g. crops and a whole scan)
 * are pooled, then judged per kind of scan: a concept whose mean held-out Dice is below `floor` on every
 * kind it was measured on is withheld, with the measurement as the reason a user reads ("held-out Dice 0.19
 * on 4 scans (BraTS FLAIR: 2 at 0.31; BraTS T1c: 2 at 0.07)"); one that fails on one kind and works on the
 * other is withheld on that kind only. Evidence about a whole carries to its parts: when a concept is
 * withheld on one kind of scan only, the network's parts of it (`partsOf`) that were never measured on that
 * kind are withheld there too (the hippocampus fails on whole brains, so its head and tail, measured on
 * crops only, are not offered there either). `datasetNames` turns data-set ids into the names a user knows.
 */
export function releaseGate(
  measured: MeasuredConcept[],
  floor: number,
  modelVersion: string,
  datasetNames: Readonly<Record<string, string>> = {},
  partsOf: (networkId: string, conceptId: string) => string[] = () => [],
): GateVerdict[] {
  const failing = (m: MeasuredConcept) =>
    `held-out Dice ${diceText(mean(m.dice), floor)} on ${scans(m.dice.length)} (${perDataset(m, datasetNames, floor)}), below the ${floor.toFixed(2)} ` +
    `that model ${modelVersion} must reach to answer it`;
  const judged = poolByConcept(measured)
    .filter((m) => m.dice.length > 0)
    .map((m) => ({ m, failedOn: scopesMeasured(m).filter((scope) => mean(casesOn(m, scope).dice) < floor) }));
  const verdicts = judged.map(({ m, failedOn }): GateVerdict => {
    const everywhere = failedOn.length === scopesMeasured(m).length;
    const reasonOn = (scope: ScanScope) =>
      !everywhere && failedOn.includes(scope) ? `on ${describeScope(scope)}: ${failing(casesOn(m, scope))}` : null;
    return {
      networkId: m.networkId,
      conceptId: m.conceptId,
      meanDice: mean(m.dice),
      withheld: everywhere ? failing(m) : undefined,
      withheldOn: Object.fromEntries(scopesMeasured(m).map((scope) => [scope, reasonOn(scope)])),
    };
  });
  return [...verdicts, ...inheritedByParts(judged, verdicts, partsOf, failing)];
}

/** How a training-scan verdict's reason begins after its Dice: only such a mark may a training scan clear. */
const TRAINED_ON_REASON = / on the \d+ scans? it was trained on \(/;

/** Whether a `withheld` reason was written by `trainingScanGate` (and so may be lifted by it). */
export function isTrainingScanReason(reason: string | undefined): boolean {
  return reason !== undefined && reason.startsWith('Dice ') && TRAINED_ON_REASON.test(reason);
}

/**
 * The gate's use of scans a network TRAINED on, for concepts without any held-out scan (body-ct's abdominal
 * organs have one real CT, and it is a training scan): a concept below `floor` even there cannot be trusted
 * on new scans and is withheld. Passing there proves little, so a passing verdict (withheld undefined) may
 * lift only a mark this gate wrote (`isTrainingScanReason`), e.g. after retraining, never a held-out one.
 * Concepts in `measuredHeldOut` ("network|concept") are left to the held-out gate.
 */
export function trainingScanGate(
  measured: MeasuredConcept[],
  measuredHeldOut: ReadonlySet<string>,
  floor: number,
  modelVersion: string,
  datasetNames: Readonly<Record<string, string>> = {},
): GateVerdict[] {
  return poolByConcept(measured)
    .filter((m) => m.dice.length > 0 && !measuredHeldOut.has(`${m.networkId}|${m.conceptId}`))
    .map((m) => ({
      networkId: m.networkId,
      conceptId: m.conceptId,
      meanDice: mean(m.dice),
      withheld:
        mean(m.dice) < floor
          ? `Dice ${diceText(mean(m.dice), floor)} on the ${scans(m.dice.length)} it was trained on (${perDataset(m, datasetNames, floor)}) ` +
            `and no held-out scan to show better; below the ${floor.toFixed(2)} that model ${modelVersion} must reach to answer it`
          : undefined,
      withheldOn: {},
    }));
}

/**
 * Carries a whole's verdict on a kind of scan to the parts of it that were not measured on that kind:
 * withheld there when the whole is withheld there alone, answered (null) otherwise. Returns the verdicts
 * of parts that had none of their own; the others are amended in place.
 */
function inheritedByParts(
  judged: Array<{ m: MeasuredConcept; failedOn: ScanScope[] }>,
  verdicts: GateVerdict[],
  partsOf: (networkId: string, conceptId: string) => string[],
  failing: (m: MeasuredConcept) => string,
): GateVerdict[] {
  const key = (networkId: string, conceptId: string) => `${networkId}|${conceptId}`;
  const byKey = new Map(verdicts.map((v) => [key(v.networkId, v.conceptId), v]));
  const measuredOn = new Set(
    judged.flatMap(({ m }) => scopesMeasured(m).map((scope) => `${key(m.networkId, m.conceptId)}|${scope}`)),
  );
  const created: GateVerdict[] = [];
  for (const { m: whole, failedOn } of judged) {
    const wholeVerdict = byKey.get(key(whole.networkId, whole.conceptId)) as GateVerdict;
    for (const scope of scopesMeasured(whole)) {
      const scoped = wholeVerdict.withheld === undefined && failedOn.includes(scope);
      for (const part of partsOf(whole.networkId, whole.conceptId)) {
        if (measuredOn.has(`${key(whole.networkId, part)}|${scope}`)) continue; // its own evidence rules
        let verdict = byKey.get(key(whole.networkId, part));
        if (!verdict) {
          verdict = {
            networkId: whole.networkId,
            conceptId: part,
            meanDice: undefined,
            withheld: undefined,
            withheldOn: {},
          };
          byKey.set(key(whole.networkId, part), verdict);
          created.push(verdict);
        }
        // a part of two wholes is withheld if either is
        if (typeof verdict.withheldOn[scope] === 'string') continue;
        verdict.withheldOn[scope] = scoped
          ? `on ${describeScope(scope)}: not measured there, and its whole (${whole.conceptId}) is withheld there ` +
            `(${failing(casesOn(whole, scope))})`
          : null;
      }
    }
  }
  return created;
}

function scopesMeasured(m: MeasuredConcept): ScanScope[] {
  return SCAN_SCOPES.filter((scope) => m.scopes.includes(scope));
}

function poolByConcept(measured: MeasuredConcept[]): MeasuredConcept[] {
  const pooled = new Map<string, MeasuredConcept>();
  for (const m of measured) {
    const key = `${m.networkId}|${m.conceptId}`;
    const entry = pooled.get(key) ?? { ...m, dice: [], datasets: [], scopes: [] };
    entry.dice.push(...m.dice);
    entry.datasets.push(...m.datasets);
    entry.scopes.push(...m.scopes);
    pooled.set(key, entry);
  }
  return [...pooled.values()];
}

/** The cases of a measurement made on one kind of scan. */
function casesOn(m: MeasuredConcept, scope: ScanScope): MeasuredConcept {
  const keep = (_: unknown, n: number) => m.scopes[n] === scope;
  return { ...m, dice: m.dice.filter(keep), datasets: m.datasets.filter(keep), scopes: m.scopes.filter(keep) };
}

/** Each data set's share of a pooled measurement: "BraTS FLAIR: 2 at 0.31". */
function perDataset(m: MeasuredConcept, names: Readonly<Record<string, string>>, floor: number): string {
  return [...new Set(m.datasets)]
    .map((dataset) => {
      const dice = m.dice.filter((_, n) => m.datasets[n] === dataset);
      return `${names[dataset] ?? dataset}: ${dice.length} at ${diceText(mean(dice), floor)}`;
    })
    .join('; ');
}

/** Two decimals, or three where two would round a Dice under the floor up to it ("0.499", not "0.50 below 0.50"). */
function diceText(dice: number, floor: number): string {
  return dice < floor && Number(dice.toFixed(2)) >= floor ? dice.toFixed(3) : dice.toFixed(2);
}

function scans(count: number): string {
  return `${count} scan${count === 1 ? '' : 's'}`;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
