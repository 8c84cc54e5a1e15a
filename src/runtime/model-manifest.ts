import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MedparseError } from '../core/errors.js';
import { readDocument, writeDocumentSync } from '../io/documents.js';
import type { ScanScope } from './scan-scope.js';

/**
 * model.json as it is stored (schemas/model.schema.json; docs/model-contract.md): snake_case, written
 * by the Python trainer, calibrate and the release gate, read by the engine through loadModelPackage.
 * This is the only place the stored form is typed; scripts and tests that edit a manifest use it.
 */
export type ManifestModality = 'CT' | 'MR' | 'PT';

export interface ModelManifest {
  schema_version: 1;
  name: string;
  version: string;
  license?: string;
  training_data?: string;
  networks: ManifestNetwork[];
}

export interface ManifestNetwork {
  id: string;
  /** The .onnx file, relative to the package folder. */
  file: string;
  sha256?: string;
  modalities: ManifestModality[];
  input: ManifestInput;
  output?: { feature_channels?: number };
  concepts: ManifestConcept[];
  connected_groups?: string[][];
  anchors?: string[];
  training?: { checkpoint_step?: number | null; params?: number; note?: string };
}

export interface ManifestInput {
  orientation?: string;
  spacing: [number, number, number];
  patch_size: [number, number, number];
  channels?: number;
  normalization: Partial<Record<ManifestModality, ManifestNormalization>>;
  slice_axis?: 'nearest' | 'thickest';
  flip_search?: Array<'x' | 'y' | 'z'>;
  flip_search_margin?: number;
  max_slice_mm?: number;
}

export type ManifestNormalization =
  | { type: 'ct_clip'; lower?: number; upper?: number; mean?: number; std?: number }
  | { type: 'percentile_zscore'; lower_percentile?: number; upper_percentile?: number; nonzero_only?: boolean };

export interface ManifestConcept {
  id: string;
  index: number;
  calibration?: Partial<Record<ManifestModality, ManifestCalibration>>;
  withheld?: string;
  withheld_on?: Partial<Record<ScanScope, string>>;
}

export interface ManifestCalibration {
  probability_beta?: [number, number];
  intensity_beta?: [number, number];
  presence_threshold?: number;
  presence_platt?: [number, number];
  min_volume_ml?: number;
  max_volume_ml?: number;
  single_component?: boolean;
  drop_minor_islands?: boolean;
}

/** model.json of a package folder. */
export function manifestPath(dir: string): string {
  return join(dir, 'model.json');
}

/** Reads `<dir>/model.json` and checks it against its schema; problems name the file and the field. */
export function readModelManifest(dir: string): ModelManifest {
  const path = manifestPath(dir);
  if (!existsSync(path)) {
    throw new MedparseError(
      'FILE_NOT_FOUND',
      'no model.json here: a model package is a folder with model.json and its .onnx networks (see docs/model-contract.md)',
      resolve(dir),
    );
  }
  return readDocument<ModelManifest>('model', path);
}

/** Writes `<dir>/model.json` (checked against its schema first), one-space indented as the trainer writes it. */
export function writeModelManifest(dir: string, manifest: ModelManifest): void {
  writeDocumentSync('model', manifestPath(dir), manifest, 1);
}
