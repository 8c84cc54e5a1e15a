import type { Vec3 } from '../core/affine.js';
import type { Volume } from '../core/volume.js';
import type { LabelStatistics, VoxelBox } from '../ops/index.js';
import type { ConceptRef, Category } from '../vocab/index.js';
import type { ImagingModality } from '../runtime/model-package.js';
import type { ModalitySource } from './modality.js';

export type PromptStatus = 'present' | 'absent' | 'unsupported' | 'unknown' | 'ambiguous';

export interface Instance {
  id: number;
  voxels: number;
  volumeMl: number;
  boxVoxels: VoxelBox;
  boxWorld: { min: Vec3; max: Vec3 };
  centroidWorld: Vec3;
  meanProbability: number;
}

export interface PromptEvidence {
  voxels: number;
  volumeMl: number;
  presenceLogit: number | null;
  meanProbability: number;
  meanIntensity: number;
  pValue: number | null;
  /** False when no calibration exists for the concept in this modality: the score is the raw network output. */
  calibrated: boolean;
  boxVoxels: VoxelBox | null;
  /** Axial-most voxel axis and the slice along it with the most mask voxels. */
  bestSlice: { axis: number; index: number } | null;
  reasons: string[];
}

export interface PromptResult {
  text: string;
  status: PromptStatus;
  /** 0..1 confidence that the object is present; null when the prompt was not run. */
  score: number | null;
  concept?: ConceptRef & { category: Category };
  /** Per-voxel probability (0..255, 0 outside the mask) on the input grid; present prompts only. */
  probability?: Uint8Array;
  evidence?: PromptEvidence;
  statistics?: LabelStatistics;
  instances?: Instance[];
  suggestions: string[];
  notes: string[];
}

/** Where a network ran in several orientations (model.json `input.flip_search`): what it kept, and why. */
export interface OrientationSearchReport {
  network: string;
  /** The orientation answered in: "as given", or the working axes flipped ("flipped x", "flipped x, z"). */
  kept: string;
  /** Every orientation tried, with its confidence (mean over the maps of the mean probability inside each mask). */
  tried: Array<{ orientation: string; confidence: number }>;
}

export interface ParseResult {
  input: Volume;
  modality: ImagingModality;
  modalitySource: ModalitySource;
  model: { name: string; version: string; networks: string[] };
  prompts: PromptResult[];
  /** One entry per network that searched orientations; empty when none did. */
  orientationSearch: OrientationSearchReport[];
  /** Milliseconds per stage. */
  timings: Record<string, number>;
}

/**
 * An answer turned absent by a check after presence (a lesion outside its organ, a contradiction settled
 * against it): no mask, statistics or instances, its score capped at 0.5, and `reason` in its evidence
 * and its notes.
 */
export function overruled(result: PromptResult, reason: string): PromptResult {
  const answer: PromptResult = {
    ...result,
    status: 'absent',
    score: Math.min(result.score ?? 0, 0.5),
    notes: [...result.notes, `not answered present: ${reason}`],
    ...(result.evidence ? { evidence: { ...result.evidence, reasons: [...result.evidence.reasons, reason] } } : {}),
  };
  delete answer.probability;
  delete answer.statistics;
  delete answer.instances;
  return answer;
}
