/**
 * Stage 5, deciding presence: each decoded row's evidence is judged against the row's calibration for
 * the image's modality (src/tasks/presence.ts has the test). Rows are keyed for the answer stage.
 */
import type { ImagingModality } from '../../runtime/model-package.js';
import { decidePresence, type PresenceDecision } from '../presence.js';
import type { DecodedRow } from './decode.js';

/** A network row's answer on the input grid: its mask, evidence and presence decision. */
export interface QueryAnswer extends Omit<DecodedRow, 'concept'> {
  decision: PresenceDecision;
}

/** Network answers keyed by `answerKey(network id, row)`. */
export type QueryAnswers = Map<string, QueryAnswer>;

export function answerKey(networkId: string, row: number): string {
  return `${networkId}#${row}`;
}

export function decideRows(rows: DecodedRow[], modality: ImagingModality): QueryAnswer[] {
  return rows.map(({ concept, ...row }) => ({
    ...row,
    decision: decidePresence(row.evidence, concept?.calibration[modality]),
  }));
}
