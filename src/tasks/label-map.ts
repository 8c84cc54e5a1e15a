/**
 * labels.nii.gz: every present answer in one label map, one label per voxel. The engine has already
 * settled contradictory overlaps (src/tasks/overlaps.ts), so the answers that still share voxels lie one
 * within the other (kidney and left kidney, a lesion in its organ). Such a voxel carries the label of
 * the innermost answer, the part or the lesion, since the whole is still the union of its labels; every
 * label entry says how its answer's mask is spread over the map, so the label map's counts add up to
 * the report's volumes: mask = own label + the voxels listed under `mask_in_other_labels`.
 */
import { volumeLike, voxelVolumeMl, type Volume } from '../core/volume.js';
import { boxUnion } from '../ops/index.js';
import { makeLabelTable, type LabelEntry, type LabelTable } from '../io/label-legend.js';
import { assignColours } from '../vocab/colours.js';
import type { Vocabulary } from '../vocab/vocabulary.js';
import { answerBox, forEachRowInBox } from './mask-analysis.js';
import { liesWithin } from './overlaps.js';
import type { ParseResult, PromptResult } from './results.js';

/** How one answer's mask sits in the label map: the report and labels.json both carry it. */
export interface LabelMapShare {
  value: number;
  /** Voxels of labels.nii.gz with this answer's value, and their volume. */
  labelVoxels: number;
  labelVolumeMl: number;
  /** Voxels and volume of the answer's own mask (its .nii.gz and its report statistics). */
  maskVoxels: number;
  maskVolumeMl: number;
  /** The mask's voxels that carry another answer's label (a part or lesion inside it), by label. */
  inOtherLabels: Array<{ value: number; name: string; voxels: number; volumeMl: number }>;
  /** One sentence a reader of the label map can check. */
  note: string;
}

export interface MergedLabels {
  labels: Volume;
  table: LabelTable;
  values: Map<PromptResult, number>;
  shares: Map<PromptResult, LabelMapShare>;
}

/** The label map of the present answers, its table, and how each answer's mask sits in it. */
export function mergeLabels(result: ParseResult, vocabulary: Vocabulary): MergedLabels {
  const present = result.prompts.filter((p) => p.status === 'present' && p.probability && p.concept);
  const values = new Map<PromptResult, number>();
  const entries: LabelEntry[] = [];
  const seen = new Map<string, number>();
  for (const prompt of present) {
    const id = prompt.concept?.id ?? '';
    let value = seen.get(id);
    if (value === undefined) {
      value = entries.length + 1;
      seen.set(id, value);
      entries.push(labelEntry(value, id, vocabulary));
    }
    values.set(prompt, value);
  }
  distinguishColours(entries);
  const n = result.input.data.length;
  const data = entries.length < 256 ? new Uint8Array(n) : new Uint16Array(n);
  const labels = volumeLike(result.input, data);
  paint(present, values, vocabulary, labels);
  const shares = describeShares(present, values, entries, labels);
  const table = makeLabelTable(
    entries.map((entry) => {
      const share = [...shares].find(([prompt]) => values.get(prompt) === entry.value)?.[1];
      return share ? { ...entry, answer: shareForTable(share) } : entry;
    }),
  );
  return { labels, table, values, shares };
}

/**
 * Every label of one map in a colour of its own: the vocabulary keeps touching structures apart, but two
 * that do not touch (the left and right kidney) may share a colour, which a legend or a viewer's list
 * cannot tell apart. A later label whose colour is within MIN_TOUCHING_DELTA_E of an earlier one's moves
 * to the nearest colour clear of all of them; the table, preview and DICOM SEG all use the moved colour.
 */
function distinguishColours(entries: LabelEntry[]): void {
  const ids = entries.map((entry) => String(entry.value));
  const proposed = new Map(entries.map((entry, n) => [String(entry.value), { colour: entry.color, rank: n }]));
  const pairs = ids.flatMap((a, n) =>
    ids.slice(n + 1).map((b) => ({ a, b, reason: 'label map (one results folder)' as const })),
  );
  const colours = assignColours(ids, proposed, pairs);
  for (const entry of entries) entry.color = colours.get(String(entry.value)) ?? entry.color;
}

function labelEntry(value: number, id: string, vocabulary: Vocabulary): LabelEntry {
  const concept = vocabulary.require(id);
  return {
    value,
    name: concept.name,
    id,
    color: concept.color,
    ...(concept.laterality ? { laterality: concept.laterality } : {}),
    ...(concept.snomed ? { snomed: { code: concept.snomed.code, meaning: concept.snomed.meaning } } : {}),
    ...(concept.dicom?.typeModifier
      ? { modifier: { code: concept.dicom.typeModifier.code, meaning: concept.dicom.typeModifier.meaning } }
      : {}),
  };
}

/**
 * Paints the answers: a voxel goes to the innermost answer claiming it (the one lying within the most
 * other claimants), then to the higher voxel probability, then to the higher score. Each answer is
 * visited only inside its mask's box, and a voxel keeps only which answer holds it (its probability is
 * that answer's own): fresh memory costs a page fault per page first touched, so the label map is the
 * only volume written, except where two answers share a label.
 */
function paint(
  present: PromptResult[],
  values: Map<PromptResult, number>,
  vocabulary: Vocabulary,
  labels: Volume,
): void {
  const data = labels.data as Uint8Array | Uint16Array;
  const concepts = present.map((p) => vocabulary.require(p.concept?.id ?? ''));
  const depth = concepts.map(
    (inner, a) =>
      concepts.filter((outer, b) => b !== a && outer.id !== inner.id && liesWithin(inner, outer, vocabulary)).length,
  );
  // Scores are compared as float32, as they were when each voxel kept its winner's score.
  const scores = Float32Array.from(present, (p) => p.score ?? 0);
  const probabilities = present.map((p) => p.probability as Uint8Array);
  const holders = labelHolders(present, values, data.length);
  present.forEach((prompt, a) => {
    const probability = probabilities[a];
    const value = values.get(prompt) as number;
    const score = prompt.score ?? 0;
    forEachRowInBox(answerBox(prompt, labels.dims), labels.dims, (from, to) => {
      for (let i = from; i < to; i++) {
        const p = probability[i];
        if (!p) continue;
        const held = data[i] === 0 ? -1 : holders.heldBy(data[i], i);
        const heldP = held < 0 ? 0 : probabilities[held][i];
        const better =
          held < 0 ||
          depth[a] > depth[held] ||
          (depth[a] === depth[held] && (p > heldP || (p === heldP && score > scores[held])));
        if (better) {
          data[i] = value;
          holders.set(i, a);
        }
      }
    });
  });
}

/**
 * Which answer holds a painted voxel: the one answer with its label, or, where answers share a label
 * (the same concept asked twice), an index kept per voxel.
 */
function labelHolders(
  present: PromptResult[],
  values: Map<PromptResult, number>,
  voxels: number,
): { heldBy: (label: number, i: number) => number; set: (i: number, answer: number) => void } {
  const labels = present.map((prompt) => values.get(prompt) as number);
  if (new Set(labels).size === present.length) {
    const answerOfLabel = new Int32Array(Math.max(0, ...labels) + 1);
    labels.forEach((label, a) => (answerOfLabel[label] = a));
    return { heldBy: (label) => answerOfLabel[label], set: () => undefined };
  }
  const held = present.length < 256 ? new Uint8Array(voxels) : new Uint16Array(voxels);
  return { heldBy: (_, i) => held[i], set: (i, answer) => (held[i] = answer) };
}

function describeShares(
  present: PromptResult[],
  values: Map<PromptResult, number>,
  entries: LabelEntry[],
  labels: Volume,
): Map<PromptResult, LabelMapShare> {
  const voxelMl = voxelVolumeMl(labels);
  const size = entries.length + 1;
  const boxes = present.map((prompt) => answerBox(prompt, labels.dims));
  const labelCounts = new Float64Array(size);
  // every labelled voxel lies in some answer's mask, so in the union of their boxes
  forEachRowInBox(boxUnion(boxes), labels.dims, (from, to) => {
    for (let i = from; i < to; i++) labelCounts[labels.data[i]]++;
  });
  const nameOf = new Map(entries.map((e) => [e.value, e.name]));
  const shares = new Map<PromptResult, LabelMapShare>();
  present.forEach((prompt, n) => {
    const value = values.get(prompt) as number;
    const probability = prompt.probability as Uint8Array;
    const under = new Float64Array(size);
    let maskVoxels = 0;
    forEachRowInBox(boxes[n], labels.dims, (from, to) => {
      for (let i = from; i < to; i++) {
        if (!probability[i]) continue;
        maskVoxels++;
        under[labels.data[i]]++;
      }
    });
    const inOtherLabels = [...under.keys()]
      .filter((v) => v !== value && v !== 0 && under[v] > 0)
      .map((v) => ({ value: v, name: nameOf.get(v) ?? String(v), voxels: under[v], volumeMl: under[v] * voxelMl }));
    const labelVoxels = labelCounts[value];
    shares.set(prompt, {
      value,
      labelVoxels,
      labelVolumeMl: labelVoxels * voxelMl,
      maskVoxels,
      maskVolumeMl: maskVoxels * voxelMl,
      inOtherLabels,
      note: shareNote(maskVoxels, value, under[value], labelVoxels, inOtherLabels, voxelMl),
    });
  });
  return shares;
}

function shareNote(
  maskVoxels: number,
  value: number,
  ownInMask: number,
  labelVoxels: number,
  others: LabelMapShare['inOtherLabels'],
  voxelMl: number,
): string {
  const ml = (voxels: number) => `${(voxels * voxelMl).toFixed(2)} mL`;
  if (others.length === 0 && ownInMask === labelVoxels)
    return `all ${maskVoxels} voxels (${ml(maskVoxels)}) of the mask carry label ${value} in labels.nii.gz`;
  const parts = others.map((o) => `${o.voxels} (${ml(o.voxels)}) label ${o.value} (${o.name}, which lies within it)`);
  const extra =
    labelVoxels > ownInMask
      ? `; label ${value} also marks ${labelVoxels - ownInMask} voxels of another answer with the same concept`
      : '';
  return (
    `the mask's ${maskVoxels} voxels (${ml(maskVoxels)}) are ${ownInMask} (${ml(ownInMask)}) label ${value} and ` +
    `${parts.join(' and ')} in labels.nii.gz: add those labels to read its volume from the map${extra}`
  );
}

/** The share as labels.json carries it (snake_case, as report.json). */
function shareForTable(share: LabelMapShare): NonNullable<LabelEntry['answer']> {
  return {
    label_voxels: share.labelVoxels,
    label_volume_ml: round3(share.labelVolumeMl),
    mask_voxels: share.maskVoxels,
    mask_volume_ml: round3(share.maskVolumeMl),
    mask_in_other_labels: share.inOtherLabels.map((o) => ({
      value: o.value,
      name: o.name,
      voxels: o.voxels,
      volume_ml: round3(o.volumeMl),
    })),
    note: share.note,
  };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
