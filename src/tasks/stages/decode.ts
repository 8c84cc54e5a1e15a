/**
 * Stage 4, decoding a network's output: per prompted row, stray islands removed (unless kept), the
 * mask's evidence measured on the working grid (the BiomedParse statistics), and the probability map
 * taken back onto the input's own voxel grid.
 */
import { voxelVolumeMl, type Volume } from '../../core/volume.js';
import type { ImagingModality, NetworkConcept } from '../../runtime/model-package.js';
import { probabilityOnOriginalGrid, type Box } from '../../runtime/preprocess.js';
import type { Vocabulary } from '../../vocab/index.js';
import { dropStrayIslands } from '../mask-analysis.js';
import { sigmoid, type PresenceEvidence } from '../presence.js';
import type { SetApart } from './groups.js';
import type { NetworkOutput } from './infer.js';

export interface DecodeOptions {
  vocabulary: Vocabulary;
  keepIslands?: boolean;
}

/** One prompted row on the input grid, with the evidence its presence is decided on. */
export interface DecodedRow {
  /** The row's entry in model.json (its calibration decides presence). */
  concept: NetworkConcept | undefined;
  probability: Uint8Array;
  /** Tight box of the mask on the input grid, null when empty. */
  box: Box | null;
  evidence: PresenceEvidence;
  setApart?: SetApart;
  /** mL of a lesion's small islands left out (its calibration found them mostly false). */
  minorIslandsMl?: number;
}

export function decodeNetworkOutput(
  output: NetworkOutput,
  volume: Volume,
  modality: ImagingModality,
  options: DecodeOptions,
): DecodedRow[] {
  const { network, prepared } = output;
  const voxelMl = voxelVolumeMl(volume);
  const normalization = network.normalization[modality];
  // Normalised over nonzero voxels, a zero stays 0 and means "no data here" (docs/model-contract.md).
  const zeroMeansNoSignal = normalization?.type === 'percentile_zscore' && normalization.nonzeroOnly;
  return output.rows.map((row, q) => {
    const concept = network.concepts.find((c) => c.index === row);
    const lesion = concept !== undefined && options.vocabulary.get(concept.id)?.category === 'lesion';
    const calibration = concept?.calibration[modality];
    const map = output.probabilities[q];
    const pruned =
      !options.keepIslands && (!lesion || calibration?.dropMinorIslands === true)
        ? dropStrayIslands(map, prepared.image, { singleComponent: !lesion && calibration?.singleComponent === true })
        : 0;
    const { s1, s2, emptyFraction } = maskStatistics(map, prepared.image.data, zeroMeansNoSignal);
    const { probability, voxels, box } = probabilityOnOriginalGrid({ ...prepared.image, data: map }, prepared.mapping);
    const setApart = output.setApart.get(row);
    return {
      concept,
      probability,
      box,
      evidence: {
        voxels,
        volumeMl: voxels * voxelMl,
        presenceLogit: output.presenceLogits[q],
        meanProbability: s1,
        meanIntensity: s2,
        ...(emptyFraction === undefined ? {} : { emptyFraction }),
      },
      ...(setApart ? { setApart } : {}),
      ...(lesion && pruned > 0 ? { minorIslandsMl: pruned * voxelVolumeMl(prepared.image) } : {}),
    };
  });
}

/**
 * s1 and s2 of the BiomedParse test, on the working grid: mean probability and squashed intensity inside
 * p > 0.5; with `zeroMeansNoSignal`, also the share of those voxels whose normalised value is exactly 0.
 */
function maskStatistics(
  probabilities: Float32Array,
  normalized: ArrayLike<number>,
  zeroMeansNoSignal: boolean,
): { s1: number; s2: number; emptyFraction?: number } {
  let count = 0;
  let empty = 0;
  let probabilitySum = 0;
  let intensitySum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    if (probabilities[i] > 0.5) {
      count++;
      probabilitySum += probabilities[i];
      intensitySum += sigmoid(normalized[i]);
      if (normalized[i] === 0) empty++;
    }
  }
  const means = count ? { s1: probabilitySum / count, s2: intensitySum / count } : { s1: 0, s2: 0 };
  return zeroMeansNoSignal ? { ...means, emptyFraction: count ? empty / count : 0 } : means;
}
