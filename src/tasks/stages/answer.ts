/**
 * Stage 6, answering the prompts: each plan's answer built from the network answers (a row as is, the
 * union of parts, one side of a whole), specks removed, then checked as a whole request: anatomy
 * (a lesion in its organ, a side on its side) and overlaps between answers settled. What comes out is
 * what every output (report, masks, label map, DICOM SEG) writes.
 */
import { voxelVolumeMl, type Dims3, type Volume } from '../../core/volume.js';
import { boxUnion } from '../../ops/index.js';
import type { Box } from '../../runtime/preprocess.js';
import type { Vocabulary } from '../../vocab/index.js';
import { MIN_INSTANCE_VOXELS, forEachRowInBox, splitBySide, withoutSpecksDescribed } from '../mask-analysis.js';
import { settleOverlaps } from '../overlaps.js';
import type { PresenceDecision } from '../presence.js';
import type { PromptResult } from '../results.js';
import { checkAnatomy, type OrganAnswer } from '../sanity.js';
import { answerKey, type QueryAnswer, type QueryAnswers } from './decide.js';
import type { ConceptSource, PromptPlan, RequestPlan } from './plan.js';

export interface AnswerOptions {
  vocabulary: Vocabulary;
  /** Raw masks: no removal of specks. */
  keepIslands?: boolean;
}

/** Below this, what a connected group leaves out is not worth a note (the stray-island rule's scale). */
const SET_APART_NOTE_ML = 1;

/** Every prompt's result, in the prompts' order, consistent with each other. */
export function answerPrompts(
  plan: RequestPlan,
  volume: Volume,
  answers: QueryAnswers,
  options: AnswerOptions,
): PromptResult[] {
  const answered = plan.prompts.map((prompt) => answerPrompt(prompt, volume, answers, options));
  const organs = new Map<string, OrganAnswer>();
  for (const [organId, organPlan] of plan.organs) {
    const result = answerPrompt(organPlan, volume, answers, options);
    const unknownWhy = result.status === 'present' ? undefined : outOfRegion(organPlan.source, answers);
    organs.set(organId, {
      name: options.vocabulary.ref(organId).name,
      result,
      ...(unknownWhy ? { outOfRegion: unknownWhy } : {}),
    });
  }
  const checked = checkAnatomy(answered, organs, volume, options.vocabulary, {
    // A crop shows one side of the body or none, so its centre says nothing of left and right; a network
    // that searches orientations (cardiac stacks whose files carry none) leaves left and right unknown.
    checkSides: plan.prompts.map((prompt) => plan.scope === 'whole' && !readsFlipSearch(prompt.source)),
  });
  return settleOverlaps(checked, volume, options.vocabulary);
}

function answerPrompt(plan: PromptPlan, volume: Volume, answers: QueryAnswers, options: AnswerOptions): PromptResult {
  const { vocabulary, keepIslands = false } = options;
  const base = {
    text: plan.prompt.text,
    suggestions: plan.prompt.suggestions,
    notes: plan.notes,
    ...(plan.concept ? { concept: { ...vocabulary.ref(plan.concept.id), category: plan.concept.category } } : {}),
  };
  if (plan.status !== 'planned' || !plan.source)
    return { ...base, status: plan.status === 'planned' ? 'unsupported' : plan.status, score: null };
  const answer = combine(plan.source, volume, answers);
  const { voxels } = answer.evidence;
  // Islands too small to be an object are no part of any answer (raw masks keep them with --keep-islands),
  // and an answer made only of them is absent: a present answer has an instance.
  const cleaned = withoutSpecksDescribed(answer.probability, answer.box, volume, { keepSpecks: keepIslands });
  const probability = keepIslands ? answer.probability : cleaned.probability;
  const removed = keepIslands ? 0 : cleaned.removed;
  const described = cleaned.description;
  const specksOnly =
    answer.decision.status === 'present' && voxels > 0 && cleaned.removed === voxels
      ? [
          `its mask is ${voxels} voxel${voxels === 1 ? '' : 's'} in islands under ` +
            `${MIN_INSTANCE_VOXELS} voxels each, too small to be an object`,
        ]
      : [];
  const present = answer.decision.status === 'present' && voxels - removed > 0 && specksOnly.length === 0;
  return {
    ...base,
    notes: [...base.notes, ...answerNotes(answer, vocabulary)],
    status: present ? 'present' : 'absent',
    score: answer.decision.score,
    evidence: {
      voxels,
      volumeMl: voxels * voxelVolumeMl(volume),
      presenceLogit: answer.evidence.presenceLogit,
      meanProbability: answer.evidence.meanProbability,
      meanIntensity: answer.evidence.meanIntensity,
      pValue: answer.decision.pValue,
      calibrated: answer.decision.calibrated,
      boxVoxels: described.statistics?.boxVoxels ?? null,
      bestSlice: described.bestSlice,
      reasons: [...answer.decision.reasons, ...specksOnly],
    },
    ...(present ? { probability, statistics: described.statistics, instances: described.instances } : {}),
  };
}

/** What a reader must be told about how an answer's mask was made. */
function answerNotes(answer: QueryAnswer, vocabulary: Vocabulary): string[] {
  const notes: string[] = [];
  if (answer.setApart && answer.setApart.volumeMl >= SET_APART_NOTE_ML)
    notes.push(
      `${answer.setApart.volumeMl.toFixed(1)} mL of the network's mask lay apart from the largest connected ` +
        `piece of ${answer.setApart.group.map((id) => vocabulary.ref(id).name).join(', ')} ` +
        '(parts of one organ) and was left out; --keep-islands keeps it',
    );
  // A small lesion may be real, so a reader is told what the island rule took (there is no volume floor).
  if (answer.minorIslandsMl)
    notes.push(
      `${answer.minorIslandsMl.toFixed(2)} mL in islands under a tenth of the largest was left out: on training ` +
        'scans such islands of this concept were mostly false; --keep-islands keeps them',
    );
  if (!answer.decision.calibrated)
    notes.push(
      'presence is uncalibrated for this concept: no real scan with it was in the calibration set, so the ' +
        "score is the network's raw presence output and has not been checked against real cases",
    );
  return notes;
}

/** Whether a source reads a network that searches orientations (its answers' left and right are not the file's). */
function readsFlipSearch(source: ConceptSource | undefined): boolean {
  if (!source) return false;
  if (source.kind === 'network') return source.network.flipSearch.length > 0;
  return source.kind === 'union' ? source.parts.some(readsFlipSearch) : readsFlipSearch(source.of);
}

/**
 * Why a source's answer is absent only because its networks judged the scan outside their region (their
 * landmarks not found), if that is all: every row it reads was gated so, and none is present.
 */
function outOfRegion(source: ConceptSource | undefined, answers: QueryAnswers): string | undefined {
  if (!source) return undefined;
  if (source.kind === 'side') return outOfRegion(source.of, answers);
  if (source.kind === 'network') return answers.get(answerKey(source.network.id, source.row))?.outOfRegion;
  const reasons = source.parts.map((part) => outOfRegion(part, answers));
  return reasons.every((reason) => reason !== undefined) ? reasons[0] : undefined;
}

/** Builds a prompt's answer from network answers: a row as is, a union of parts, or one side. */
function combine(source: ConceptSource, volume: Volume, answers: QueryAnswers): QueryAnswer {
  if (source.kind === 'network') {
    const answer = answers.get(answerKey(source.network.id, source.row));
    if (!answer) throw new Error(`no network answer for ${source.conceptId}`);
    return answer;
  }
  if (source.kind === 'side') return oneSide(combine(source.of, volume, answers), source.side, volume);
  return union(
    source.parts.map((part) => combine(part, volume, answers)),
    volume,
  );
}

function oneSide(whole: QueryAnswer, side: 'left' | 'right', volume: Volume): QueryAnswer {
  const { probability, box } = splitBySide(whole.probability, whole.box, volume, side);
  const voxels = countNonzero(probability, box, volume.dims);
  const decision: PresenceDecision =
    voxels > 0
      ? whole.decision
      : {
          ...whole.decision,
          status: 'absent',
          score: 0,
          reasons: [...whole.decision.reasons, `nothing on the ${side} side`],
        };
  const evidence = { ...whole.evidence, voxels, volumeMl: voxels * voxelVolumeMl(volume) };
  return { ...whole, probability, box, evidence, decision };
}

/** The union of the present parts' masks; the best-scoring part speaks for the evidence. */
function union(parts: QueryAnswer[], volume: Volume): QueryAnswer {
  const present = parts.filter((p) => p.decision.status === 'present');
  const probability = new Uint8Array(volume.data.length);
  for (const part of present) {
    const p = part.probability;
    forEachRowInBox(part.box, volume.dims, (from, to) => {
      for (let i = from; i < to; i++) if (p[i] > probability[i]) probability[i] = p[i];
    });
  }
  const box = boxUnion(present.map((p) => p.box));
  const best = parts.reduce((a, b) => (b.decision.score > a.decision.score ? b : a));
  const voxels = countNonzero(probability, box, volume.dims);
  const setApart = parts.flatMap((p) => (p.setApart ? [p.setApart] : []));
  const minorIslandsMl = present.reduce((sum, p) => sum + (p.minorIslandsMl ?? 0), 0);
  return {
    ...(minorIslandsMl > 0 ? { minorIslandsMl } : {}),
    ...(setApart.length
      ? {
          setApart: {
            volumeMl: setApart.reduce((sum, s) => sum + s.volumeMl, 0),
            group: [...new Set(setApart.flatMap((s) => s.group))],
          },
        }
      : {}),
    probability,
    box,
    evidence: {
      ...best.evidence,
      voxels,
      volumeMl: voxels * voxelVolumeMl(volume),
      presenceLogit: Math.max(...parts.map((p) => p.evidence.presenceLogit)),
    },
    decision: present.length
      ? { ...best.decision, status: 'present' }
      : { ...best.decision, status: 'absent', reasons: ['none of its parts is present'] },
  };
}

function countNonzero(data: Uint8Array, box: Box | null, dims: Dims3): number {
  let n = 0;
  forEachRowInBox(box, dims, (from, to) => {
    for (let i = from; i < to; i++) if (data[i]) n++;
  });
  return n;
}
