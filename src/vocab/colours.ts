/**
 * Display colours of the vocabulary's concepts: every concept visible on a greyscale scan, and
 * structures that touch told apart at a glance.
 *
 * "Touch" (the rule the colours are checked against, documented in docs/colours.md):
 *   1. a structure and each of its direct parts (part_of links and the two sides of a paired structure);
 *   2. two direct parts of the same structure (the heart's chambers, a lobe's gyri, the ribs of the rib
 *      cage); parts of a "group" concept (the urinary system, the muscles) are not counted: a group is a
 *      list, not one structure;
 *   3. a lesion and the organ it lies in, and that organ's sides;
 *   4. two concepts whose labels share a face in one of the reference label maps of ../shared/data
 *      (data/label-neighbours.json, written by scripts/label-neighbours.ts).
 * Touching concepts must differ by at least MIN_TOUCHING_DELTA_E (CIE76), and every colour must pass
 * isVisibleColour. Colours are chosen by scripts/build-vocabulary.ts from established tables where they
 * cover a concept, moved to the nearest colour that satisfies the rule when they do not.
 */
import { chroma, deltaE, srgbToLab, type Lab, type Rgb } from '../core/colour.js';
import type { Concept } from './types.js';

/** Touching structures differ by at least this (CIE76): clearly two colours side by side. */
export const MIN_TOUCHING_DELTA_E = 20;

/** Below this lightness (L*) a colour reads as black, a hole in the image. */
export const MIN_LIGHTNESS = 30;

/** Below this chroma a colour reads as one of the scan's own greys. */
export const MIN_CHROMA = 15;

/** A colour that shows on a greyscale scan: not black, not grey. */
export function isVisibleColour(rgb: Rgb): boolean {
  return srgbToLab(rgb)[0] >= MIN_LIGHTNESS && chroma(rgb) >= MIN_CHROMA;
}

export interface LabelNeighbour {
  a: string;
  b: string;
  dataset: string;
}

/** Why two concepts touch (for messages and docs). */
export type TouchReason = 'part' | 'sibling part' | 'lesion in organ' | `label map ${string}`;

export interface TouchingPair {
  a: string;
  b: string;
  reason: TouchReason;
}

/** Concepts that touch, by rules 1-3 of the module comment and the label-map neighbours given (rule 4). */
export function touchingPairs(
  concepts: readonly Concept[],
  labelNeighbours: readonly LabelNeighbour[] = [],
): TouchingPair[] {
  const byId = new Map(concepts.map((c) => [c.id, c]));
  const pairs = new Map<string, TouchingPair>();
  const add = (a: string, b: string, reason: TouchReason) => {
    if (a === b || !byId.has(a) || !byId.has(b)) return;
    const [x, y] = a < b ? [a, b] : [b, a];
    const key = `${x}|${y}`;
    if (!pairs.has(key)) pairs.set(key, { a: x, b: y, reason });
  };
  const partsOf = new Map<string, string[]>();
  for (const concept of concepts) {
    for (const whole of concept.partOf) {
      if (byId.get(whole)?.category === 'group') continue;
      add(concept.id, whole, 'part');
      partsOf.set(whole, [...(partsOf.get(whole) ?? []), concept.id]);
    }
    if (concept.sided) {
      add(concept.id, concept.sided.left, 'part');
      add(concept.id, concept.sided.right, 'part');
    }
    if (concept.category === 'lesion' && concept.locatedIn) {
      const organ = byId.get(concept.locatedIn);
      add(concept.id, concept.locatedIn, 'lesion in organ');
      if (organ?.sided) {
        add(concept.id, organ.sided.left, 'lesion in organ');
        add(concept.id, organ.sided.right, 'lesion in organ');
      }
    }
  }
  for (const parts of partsOf.values())
    for (let i = 0; i < parts.length; i++)
      for (let j = i + 1; j < parts.length; j++) add(parts[i], parts[j], 'sibling part');
  for (const { a, b, dataset } of labelNeighbours) add(a, b, `label map ${dataset}`);
  return [...pairs.values()];
}

/** A touching pair whose colours are too close, or a concept whose colour is not visible. */
export interface ColourProblem {
  ids: string[];
  problem: string;
}

export function colourProblems(colours: ReadonlyMap<string, Rgb>, pairs: readonly TouchingPair[]): ColourProblem[] {
  const problems: ColourProblem[] = [];
  for (const [id, rgb] of colours)
    if (!isVisibleColour(rgb)) problems.push({ ids: [id], problem: `colour ${rgb.join(',')} is black or grey` });
  for (const { a, b, reason } of pairs) {
    const [ca, cb] = [colours.get(a), colours.get(b)];
    if (!ca || !cb) continue;
    const difference = deltaE(ca, cb);
    if (difference < MIN_TOUCHING_DELTA_E)
      problems.push({
        ids: [a, b],
        problem: `touching (${reason}) but colours ${ca.join(',')} and ${cb.join(',')} differ by only ${difference.toFixed(1)}`,
      });
  }
  return problems;
}

/** What a colour table proposes for a concept, and how sure the match is (lower rank = surer). */
export interface ProposedColour {
  colour: Rgb;
  rank: number;
}

/**
 * Gives every concept a colour: its proposed one when that is visible and far enough from the
 * colours already given to the concepts it touches, else the nearest colour of a visible palette that
 * is. Concepts are coloured surest match first, then the most constrained, so the tables' colours are
 * kept where they can be. Concepts without a proposal start from a stable colour hashed from the id.
 */
export function assignColours(
  ids: readonly string[],
  proposed: ReadonlyMap<string, ProposedColour>,
  pairs: readonly TouchingPair[],
): Map<string, [number, number, number]> {
  const neighbours = new Map<string, string[]>();
  for (const { a, b } of pairs) {
    neighbours.set(a, [...(neighbours.get(a) ?? []), b]);
    neighbours.set(b, [...(neighbours.get(b) ?? []), a]);
  }
  const order = [...ids].sort(
    (x, y) =>
      (proposed.get(x)?.rank ?? Infinity) - (proposed.get(y)?.rank ?? Infinity) ||
      (neighbours.get(y)?.length ?? 0) - (neighbours.get(x)?.length ?? 0) ||
      x.localeCompare(y),
  );
  const palette = visiblePalette();
  const assigned = new Map<string, [number, number, number]>();
  const labOf = new Map<string, Lab>();
  for (const id of order) {
    const wanted = proposed.get(id)?.colour ?? hashedColour(id);
    const taken = (neighbours.get(id) ?? []).flatMap((n) => {
      const lab = labOf.get(n);
      return lab ? [lab] : [];
    });
    const colour =
      isVisibleColour(wanted) && clearOf(srgbToLab(wanted), taken) ? wanted : nearestClear(wanted, taken, palette);
    assigned.set(id, [colour[0], colour[1], colour[2]]);
    labOf.set(id, srgbToLab(colour));
  }
  return assigned;
}

function clearOf(lab: Lab, taken: readonly Lab[]): boolean {
  return taken.every((t) => labDistance(lab, t) >= MIN_TOUCHING_DELTA_E);
}

function labDistance(a: Lab, b: Lab): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

interface PaletteColour {
  rgb: Rgb;
  lab: Lab;
}

/**
 * The palette of the nearest clear colour: the wanted one when possible, else the palette colour closest to
 * it among those clear of the taken ones; when none is clear, the one farthest from its nearest taken colour.
 */
function nearestClear(wanted: Rgb, taken: readonly Lab[], palette: readonly PaletteColour[]): Rgb {
  const target = srgbToLab(wanted);
  let best: PaletteColour | undefined;
  let bestDistance = Infinity;
  let fallback = palette[0];
  let fallbackMargin = -Infinity;
  for (const candidate of palette) {
    const margin = Math.min(Infinity, ...taken.map((t) => labDistance(candidate.lab, t)));
    if (margin >= MIN_TOUCHING_DELTA_E) {
      const distance = labDistance(candidate.lab, target);
      if (distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    } else if (margin > fallbackMargin) {
      fallback = candidate;
      fallbackMargin = margin;
    }
  }
  return (best ?? fallback).rgb;
}

let paletteCache: PaletteColour[] | undefined;

/** Visible colours on a 15-step sRGB grid, kept away from the palest tints (L* at most 92). */
function visiblePalette(): PaletteColour[] {
  if (paletteCache) return paletteCache;
  const levels = Array.from({ length: 18 }, (_, n) => n * 15);
  const palette: PaletteColour[] = [];
  for (const r of levels)
    for (const g of levels)
      for (const b of levels) {
        const rgb: Rgb = [r, g, b];
        const lab = srgbToLab(rgb);
        if (isVisibleColour(rgb) && lab[0] <= 92) palette.push({ rgb, lab });
      }
  paletteCache = palette;
  return palette;
}

/** A stable, mid-brightness colour from the id, the starting point for concepts no table colours. */
export function hashedColour(id: string): Rgb {
  let hash = 2166136261;
  for (const char of id) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  const hue = (hash % 360) / 360;
  const [r, g, b] = [0, 1 / 3, 2 / 3].map((offset) => {
    const t = (hue + offset) % 1;
    return 0.5 + 0.35 * Math.cos(2 * Math.PI * t);
  });
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}
