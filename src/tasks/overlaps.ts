/**
 * Overlaps between answers. Two answers may claim the same voxel legitimately only when one lies
 * inside the other: a structure and its part or side (kidney and left kidney), a lesion and the organ
 * it lies in. Any other shared voxel is a contradiction (one voxel cannot be liver and kidney), and is
 * settled here, before anything is written: it goes to the answer the network was surer of there, and
 * the other answer's mask, statistics and instances are those of what it keeps, with a note saying what
 * it gave up and to whom. Every output (masks, label map, DICOM SEG, report) then tells one story.
 */
import { voxelVolumeMl, type Volume } from '../core/volume.js';
import { boxIntersection } from '../ops/index.js';
import type { Concept, Vocabulary } from '../vocab/index.js';
import { forEachRowInBox, withNewMask } from './mask-analysis.js';
import type { PromptResult } from './results.js';

/** Whether `inner` may lie inside `outer`: the same concept, a part, side or kind of it, or a lesion in it. */
export function liesWithin(inner: Concept, outer: Concept, vocabulary: Vocabulary): boolean {
  if (inner.id === outer.id) return true;
  const ancestors = (id: string) => vocabulary.ancestors(id).map((c) => c.id);
  if (ancestors(inner.id).includes(outer.id)) return true;
  if (inner.category !== 'lesion' || outer.category === 'lesion') return false;
  // A lesion with no organ ("lesion") may lie in any structure; one with an organ in that organ, its
  // sides and parts, and what that organ is part of.
  if (!inner.locatedIn) return true;
  const organ = inner.locatedIn;
  return outer.id === organ || ancestors(organ).includes(outer.id) || ancestors(outer.id).includes(organ);
}

/** Whether two answers' masks may overlap: one lies within the other. */
export function mayOverlap(a: Concept, b: Concept, vocabulary: Vocabulary): boolean {
  return liesWithin(a, b, vocabulary) || liesWithin(b, a, vocabulary);
}

/**
 * Settles the contradictory overlaps of the present answers (in place on copies: the results are new
 * objects): each voxel claimed by two answers that may not overlap goes to the one with the higher voxel
 * probability (then the higher score, then the earlier prompt); the loser is re-described from what it
 * keeps, and becomes absent if it keeps nothing.
 */
export function settleOverlaps(results: PromptResult[], volume: Volume, vocabulary: Vocabulary): PromptResult[] {
  const present = results
    .map((result, index) => ({ result, index }))
    .filter(({ result }) => result.status === 'present' && result.probability && result.concept);
  const lost = new Map<number, Map<string, number>>();
  const probabilities = new Map<number, Uint8Array>();
  const own = (index: number, original: Uint8Array) => {
    let copy = probabilities.get(index);
    if (!copy) {
      copy = original.slice();
      probabilities.set(index, copy);
    }
    return copy;
  };
  for (let x = 0; x < present.length; x++) {
    for (let y = x + 1; y < present.length; y++) {
      const [a, b] = [present[x], present[y]];
      const [conceptA, conceptB] = [
        vocabulary.require(a.result.concept?.id ?? ''),
        vocabulary.require(b.result.concept?.id ?? ''),
      ];
      if (mayOverlap(conceptA, conceptB, vocabulary)) continue;
      const box = boxIntersection(a.result.statistics?.boxVoxels, b.result.statistics?.boxVoxels);
      if (!box) continue;
      const pa = probabilities.get(a.index) ?? (a.result.probability as Uint8Array);
      const pb = probabilities.get(b.index) ?? (b.result.probability as Uint8Array);
      const aWins = (i: number) => pa[i] > pb[i] || (pa[i] === pb[i] && (a.result.score ?? 0) >= (b.result.score ?? 0));
      let toA = 0;
      let toB = 0;
      forEachRowInBox(box, volume.dims, (from, to) => {
        for (let i = from; i < to; i++) {
          if (!pa[i] || !pb[i]) continue;
          if (aWins(i)) {
            own(b.index, b.result.probability as Uint8Array)[i] = 0;
            toA++;
          } else {
            own(a.index, a.result.probability as Uint8Array)[i] = 0;
            toB++;
          }
        }
      });
      if (toA) record(lost, b.index, conceptA.name, toA);
      if (toB) record(lost, a.index, conceptB.name, toB);
    }
  }
  const voxelMl = voxelVolumeMl(volume);
  return results.map((result, index) => {
    const probability = probabilities.get(index);
    const gaveUp = lost.get(index);
    if (!probability || !gaveUp) return result;
    const given = gaveUpTo(gaveUp, voxelMl);
    return withNewMask(
      result,
      probability,
      volume,
      [`voxels its mask shared with another answer where that answer was more probable went to it: ${given}`],
      `every voxel of its mask was more probably something else (${given})`,
    );
  });
}

function record(lost: Map<number, Map<string, number>>, index: number, to: string, voxels: number): void {
  const byWinner = lost.get(index) ?? new Map<string, number>();
  byWinner.set(to, (byWinner.get(to) ?? 0) + voxels);
  lost.set(index, byWinner);
}

/** Says what an answer gave up to whom: "1.20 mL to liver, 0.40 mL to spleen". */
function gaveUpTo(gaveUp: Map<string, number>, voxelMl: number): string {
  return [...gaveUp].map(([name, voxels]) => `${(voxels * voxelMl).toFixed(2)} mL to ${name}`).join(', ');
}
