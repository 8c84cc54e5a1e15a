import { MedparseError } from '../core/errors.js';
import type { Volume } from '../core/volume.js';
import { spacingOf } from '../core/volume.js';
import { reorient, resampleToGrid, resampleToSpacing, undoReorient, zScore, type Grid, type ReorientRecord } from '../ops/index.js';
import type { ImagingModality, NetworkSpec, NormalizationSpec } from './model-package.js';

/**
 * The preprocessing contract of docs/model-contract.md: reorient exactly, resample to the network's
 * spacing, normalise by modality. It records what it did so results go back onto the input's grid.
 */
export interface PreparedInput {
  /** Normalised float32 image on the network's working grid. */
  image: Volume;
  /** What it takes to map a working-grid result back onto the original voxel grid. */
  mapping: WorkingGridMapping;
}

export interface WorkingGridMapping {
  reorientation: ReorientRecord;
  /** The reoriented (not yet resampled) grid, with the physical affine. */
  reorientedGrid: Grid;
  workingGrid: Grid;
}

export function prepareInput(volume: Volume, network: NetworkSpec, modality: ImagingModality): PreparedInput {
  const spec = network.normalization[modality];
  if (!spec) {
    throw new MedparseError('INVALID_ARGUMENT', `network ${network.id} takes ${network.modalities.join('/')} images, not ${modality}`);
  }
  const physical = withPhysicalAffine(volume);
  const { volume: reoriented, inverse } = reorient(physical, network.orientation);
  const resampled = resampleToSpacing(reoriented, network.spacing, 'linear');
  const image = normalize(resampled, spec);
  return {
    image,
    mapping: {
      reorientation: inverse,
      reorientedGrid: { dims: reoriented.dims, affine: reoriented.affine },
      workingGrid: { dims: image.dims, affine: image.affine },
    },
  };
}

/**
 * The volume with an affine whose column lengths are the stated voxel size. Some files (ACDC) carry a
 * unit-scaled sform while pixdim holds the real spacing: resampling must use the real one. Results
 * go back by voxel index, so the output keeps the input's own affine either way.
 */
export function withPhysicalAffine(volume: Volume): Volume {
  if (!volume.spacing) return volume;
  const stated = spacingOf(volume);
  const affine = [...volume.affine];
  for (let c = 0; c < 3; c++) {
    const length = Math.hypot(affine[c], affine[4 + c], affine[8 + c]) || 1;
    for (let r = 0; r < 3; r++) affine[r * 4 + c] = (affine[r * 4 + c] / length) * stated[c];
  }
  return { ...volume, affine, spacing: undefined };
}

export function normalize(volume: Volume, spec: NormalizationSpec): Volume {
  if (spec.type === 'ct_clip') {
    const out = new Float32Array(volume.data.length);
    const scale = 1 / spec.std;
    const data = volume.data;
    for (let i = 0; i < data.length; i++) {
      const v = data[i] < spec.lower ? spec.lower : data[i] > spec.upper ? spec.upper : data[i];
      out[i] = (v - spec.mean) * scale;
    }
    return { ...volume, data: out };
  }
  return zScore(volume, {
    nonzero: spec.nonzeroOnly,
    clipPercentiles: [spec.lowerPercentile, spec.upperPercentile],
  }).volume;
}

/**
 * Maps a probability map on the working grid back onto the original voxel grid and thresholds it
 * there (so the mask follows the smooth probability, not blocky working voxels): linear resampling
 * onto the reoriented grid into `scratch` (reused between prompts), then the exact inverse
 * reorientation. The result is one byte a voxel: round(255 p) where p > threshold, else 0, so it
 * is both the mask and the confidence of each of its voxels.
 */
export function probabilityOnOriginalGrid(
  workingProbabilities: Volume,
  mapping: WorkingGridMapping,
  scratch: Float32Array,
  threshold = 0.5,
): { probability: Uint8Array; voxels: number } {
  const onReoriented = resampleToGrid(workingProbabilities, mapping.reorientedGrid, 'linear', { output: scratch });
  const probabilities = onReoriented.data;
  const quantized = new Uint8Array(probabilities.length);
  let voxels = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (p > threshold) {
      quantized[i] = Math.max(1, Math.round(p * 255));
      voxels++;
    }
  }
  const original = undoReorient({ ...onReoriented, data: quantized }, mapping.reorientation);
  return { probability: original.data as Uint8Array, voxels };
}
