/**
 * Anatomical sanity of present answers, checked after presence and before anything is written:
 *   - a lesion lies in its organ: its islands with less than half their voxels within LESION_MARGIN_MM of
 *     the organ's mask are left out, and a lesion with nothing left, or whose organ is absent, is absent;
 *   - a sided structure of a pair lies on its side: a left parotid whose mask is centred right of the
 *     body's midline is absent.
 * Each failure is a reason on the answer, so the report says why a confident network was overruled.
 */
import { isSheared, transformPoint } from '../core/affine.js';
import { spacingOf, voxelVolumeMl, type Volume } from '../core/volume.js';
import { squaredDistanceTransform, squaredDistanceWithin } from '../ops/distance.js';
import { boxUnion, connectedComponents, cropToBox } from '../ops/index.js';
import { withPhysicalAffine } from '../runtime/preprocess.js';
import type { Vocabulary } from '../vocab/index.js';
import { bodyMidlineX, withNewMask } from './mask-analysis.js';
import { overruled as overrule, type PromptResult } from './results.js';

/** A lesion island counts as in its organ when most of it lies within this distance of the organ's mask. */
export const LESION_MARGIN_MM = 10;

/** Share of a lesion island that must lie within the margin. */
const INSIDE_SHARE = 0.5;

/** The organ answer a lesion is checked against: present (with its mask) or not, and its name. */
export interface OrganAnswer {
  name: string;
  result: PromptResult;
  /**
   * Why the organ's network judged the scan outside its region (its landmarks not found), when that alone
   * made the organ absent: then it cannot say where the organ is, and a lesion is not checked against it.
   */
  outOfRegion?: string;
}

/**
 * Checks every present lesion against its organ (`organs` by organ concept id: answers the engine ran for
 * the purpose, or prompted ones) and every present sided structure against its side where `checkSides`
 * (for all results, or per result) says the image's left and right can be trusted; returns new results.
 */
export function checkAnatomy(
  results: PromptResult[],
  organs: ReadonlyMap<string, OrganAnswer>,
  volume: Volume,
  vocabulary: Vocabulary,
  { checkSides = true }: { checkSides?: boolean | readonly boolean[] } = {},
): PromptResult[] {
  return results.map((result, index) => {
    if (result.status !== 'present' || !result.probability || !result.concept) return result;
    const concept = vocabulary.require(result.concept.id);
    if (concept.category === 'lesion' && concept.locatedIn) {
      const organ = organs.get(concept.locatedIn);
      if (organ && !organ.outOfRegion) return checkLesionInOrgan(result, organ, volume);
      const name = vocabulary.require(concept.locatedIn).name;
      const why = organ?.outOfRegion ?? `the model does not answer the ${name} for this scan`;
      return { ...result, notes: [...result.notes, `not checked against the ${name}: ${why}`] };
    }
    const sides = typeof checkSides === 'boolean' ? checkSides : checkSides[index] === true;
    if (sides && (concept.laterality === 'left' || concept.laterality === 'right') && concept.unsided)
      return checkSide(result, concept.laterality, volume);
    return result;
  });
}

function checkLesionInOrgan(lesion: PromptResult, organ: OrganAnswer, volume: Volume): PromptResult {
  const organProbability = organ.result.probability;
  const organBox = organ.result.statistics?.boxVoxels;
  const lesionBox = lesion.statistics?.boxVoxels;
  if (organ.result.status !== 'present' || !organProbability || !organBox || !lesionBox) {
    const why = organ.result.evidence?.reasons.length ? ` (${organ.result.evidence.reasons.join('; ')})` : '';
    return overrule(lesion, `the ${organ.name}, which it lies in, is not present in the scan${why}`);
  }
  const box = boxUnion([lesionBox, organBox]) ?? lesionBox;
  const lesionCrop = cropToBox({ ...volume, data: lesion.probability as Uint8Array }, box);
  const organCrop = cropToBox({ ...volume, data: organProbability }, box);
  const isOrgan = Uint8Array.from(organCrop.data as Uint8Array, (v) => (v ? 1 : 0));
  const distance = organDistance(isOrgan, organCrop.dims, volume);
  const binary = Uint8Array.from(lesionCrop.data as Uint8Array, (v) => (v ? 1 : 0));
  const components = connectedComponents({ ...lesionCrop, data: binary }, { connectivity: 26 });
  const size = new Float64Array(components.count + 1);
  const near = new Float64Array(components.count + 1);
  const limit = LESION_MARGIN_MM ** 2;
  for (let i = 0; i < binary.length; i++) {
    const id = components.labels[i];
    if (!id) continue;
    size[id]++;
    if (distance[i] <= limit) near[id]++;
  }
  const kept = Array.from(size, (n, id) => id > 0 && n > 0 && near[id] >= INSIDE_SHARE * n);
  const total = size.reduce((a, b) => a + b, 0);
  const inside = size.reduce((sum, n, id) => sum + (kept[id] ? n : 0), 0);
  if (inside === total) return lesion;
  const share = Math.round((100 * near.reduce((a, b) => a + b, 0)) / Math.max(1, total));
  if (inside === 0)
    return overrule(
      lesion,
      `its mask lies outside the ${organ.name}: ${share} % of it is within ${LESION_MARGIN_MM} mm of the ${organ.name}'s mask`,
    );
  const probability = (lesion.probability as Uint8Array).slice();
  const [nx, ny] = lesionCrop.dims;
  for (let i = 0; i < binary.length; i++) {
    if (!binary[i] || kept[components.labels[i]]) continue;
    const [ci, cj, ck] = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
    probability[box[0] + ci + volume.dims[0] * (box[1] + cj + volume.dims[1] * (box[2] + ck))] = 0;
  }
  const leftOut = (total - inside) * voxelVolumeMl(volume);
  const note =
    `${leftOut.toFixed(2)} mL of its mask lay outside the ${organ.name} (islands mostly farther than ` +
    `${LESION_MARGIN_MM} mm from the ${organ.name}'s mask) and was left out`;
  return withNewMask(lesion, probability, volume, [note], note);
}

/**
 * Squared mm distance to the organ's mask: per-axis spacing on an orthogonal grid; on a sheared one (a
 * gantry-tilted CT read as acquired) |A d| through the physical affine, exact within the margin, where a
 * 20-degree tilt otherwise moves the 10 mm line by up to 1.6 mm out or 1.9 mm in.
 */
function organDistance(isOrgan: Uint8Array, dims: [number, number, number], volume: Volume): Float64Array {
  const physical = withPhysicalAffine(volume).affine;
  if (!isSheared(physical)) return squaredDistanceTransform(isOrgan, dims, spacingOf(volume));
  const distance = Float64Array.from(isOrgan, (v) => (v ? 0 : Infinity));
  return squaredDistanceWithin(distance, dims, physical, LESION_MARGIN_MM);
}

function checkSide(result: PromptResult, side: 'left' | 'right', volume: Volume): PromptResult {
  const centroid = result.statistics?.centroidVoxel;
  if (!centroid) return result;
  const x = transformPoint(volume.affine, centroid)[0];
  const midline = bodyMidlineX(volume);
  // RAS+: +x points to the patient's right.
  const onLeft = x < midline;
  if ((side === 'left') === onLeft) return result;
  return overrule(
    result,
    `its mask is centred ${Math.abs(x - midline).toFixed(0)} mm to the patient's ${onLeft ? 'left' : 'right'} of the body's midline, not on the ${side}`,
  );
}
