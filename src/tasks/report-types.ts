import type { ModalitySource } from './modality.js';
import type { PromptStatus } from './results.js';

/**
 * report.json as written into a results folder (schemas/report.schema.json): the one typed form for
 * its writers (result-files.ts, for output-folder.ts and the in-browser engine) and every reader (the
 * service, the viewer, scripts, tests); reading and writing the file: report.ts. Keys are snake_case,
 * the convention of every JSON medparse prints (info --json, models --json, the HTTP API).
 */
export const REPORT_SCHEMA_VERSION = 1;

type Vec3 = [number, number, number];
type VoxelBox = [number, number, number, number, number, number];
type Laterality = 'left' | 'right' | 'bilateral';

export interface Report {
  schema_version: typeof REPORT_SCHEMA_VERSION;
  medparse_version: string;
  /** ISO 8601, UTC. */
  created: string;
  task: 'segment' | 'detect' | 'recognize';
  input: ReportInput;
  model: { name: string; version: string; networks: string[] };
  orientation_search?: Array<{
    network: string;
    kept: string;
    tried: Array<{ orientation: string; confidence: number }>;
  }>;
  files: ReportFiles;
  dicom_seg?: DicomSegReport;
  prompts: PromptReport[];
  timings_ms: Record<string, number>;
}

export interface ReportInput {
  path: string | null;
  format: string;
  dims: Vec3;
  spacing_mm: Vec3;
  affine_ras: number[][];
  orientation: string;
  modality: 'CT' | 'MR' | 'PT';
  modality_source: ModalitySource;
  notes?: string[];
  dicom?: { study_instance_uid: string; series_instance_uid: string; slice_series_instance_uids?: string[] };
}

/** The folder's shared files by role; each present prompt's mask is its `mask_file`. */
export interface ReportFiles {
  labels: 'labels.nii.gz';
  label_table: 'labels.json';
  preview?: 'preview.png';
  dicom_seg?: 'segmentation.dcm';
}

/** What report.json says of segmentation.dcm: its segments, whether they overlap, what it is attached to. */
export interface DicomSegReport {
  segments: Array<{ number: number; label_value: number; name: string; laterality: Laterality | null }>;
  segments_overlap: boolean;
  study_instance_uid: string | null;
  note: string;
}

export interface OtherLabelShare {
  value: number;
  name: string;
  voxels: number;
  volume_ml: number;
}

export interface PromptReport {
  text: string;
  status: PromptStatus;
  score: number | null;
  concept: { id: string; name: string; laterality: Laterality | null; snomed: string | null; category: string } | null;
  mask_file: string | null;
  label_value: number | null;
  label_map: {
    value: number;
    label_voxels: number;
    label_volume_ml: number;
    mask_in_other_labels: OtherLabelShare[];
    note: string;
  } | null;
  statistics: {
    voxels: number;
    volume_ml: number;
    intensity: { mean: number; std: number; min: number; max: number; unit: 'HU' | 'image units' } | null;
    bbox_voxels: VoxelBox;
    bbox_world_mm: { min: number[]; max: number[] };
    centroid_world_mm: number[];
  } | null;
  instances: Array<{
    id: number;
    voxels: number;
    volume_ml: number;
    mean_probability: number;
    bbox_voxels: VoxelBox;
    bbox_world_mm: { min: number[]; max: number[] };
    centroid_world_mm: number[];
  }>;
  evidence: {
    voxels: number;
    volume_ml: number;
    presence_logit: number | null;
    mean_probability: number;
    mean_normalized_intensity: number;
    p_value: number | null;
    calibrated: boolean;
    bbox_voxels: VoxelBox | null;
    best_slice: { axis: number; index: number } | null;
    reasons: string[];
  } | null;
  suggestions: string[];
  notes: string[];
}
