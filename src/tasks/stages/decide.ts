/**
 * Stage 5, deciding presence: each decoded row's evidence is judged against the row's calibration for
 * the image's modality (src/tasks/presence.ts has the test). Rows are keyed for the answer stage.
 */
import type { ImagingModality, NetworkSpec } from '../../runtime/model-package.js';
import { decidePresence, type PresenceDecision } from '../presence.js';
import type { DecodedRow } from './decode.js';

/** A network row's answer on the input grid: its mask, evidence and presence decision. */
export interface QueryAnswer extends Omit<DecodedRow, 'concept'> {
  decision: PresenceDecision;
  /**
   * Set when the answer is absent because its network's landmarks were not found (`gateOnAnchors`): the
   * network judged the scan outside its region, which says nothing of where the concept is if it is there.
   */
  outOfRegion?: string;
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

/**
 * Every answer of a network whose landmark rows (`network.anchors`) are not all found becomes absent,
 * with the landmarks' reasons: a brain network shown a cine stack draws a cerebral white matter of
 * 1.2 L there, as sure of it as of a real one, but no third ventricle. `answers[q]` is row `rows[q]`'s.
 */
export function gateOnAnchors(answers: QueryAnswer[], rows: readonly number[], network: NetworkSpec): QueryAnswer[] {
  const missing = network.anchors.flatMap((id) => {
    const row = network.concepts.find((c) => c.id === id)?.index;
    const answer = row === undefined ? undefined : answers[rows.indexOf(row)];
    if (!answer || answer.decision.status === 'present') return [];
    return [`${id.replaceAll('_', ' ')}: ${answer.decision.reasons[0] ?? 'not found'}`];
  });
  if (!missing.length) return answers;
  const reason =
    `${network.id} did not find its landmarks (${missing.join('; ')}), so this scan does not look like ` +
    'the region it reads';
  return answers.map((answer) => ({
    ...answer,
    outOfRegion: reason,
    decision: {
      ...answer.decision,
      status: 'absent',
      score: Math.min(answer.decision.score, 0.5),
      reasons: [...answer.decision.reasons, reason],
    },
  }));
}
