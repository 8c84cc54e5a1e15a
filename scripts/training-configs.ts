/**
 * The training configs (training/configs/*.json) as eval and calibrate read them: which data sets each
 * shipped network learnt from, which label values make each concept, and which concepts are certainly
 * absent from a data set's scans.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Volume } from '../src/core/volume.js';
import { dataFile, PACKAGE_ROOT } from '../src/core/paths.js';

export interface DatasetConfig {
  name: string;
  /** Explicit concept -> label values. */
  concepts?: Record<string, number[]>;
  /** A label table of data/dataset-labels.json whose exact entries are concepts too. */
  label_map?: string;
  absent?: string[];
}

export interface TrainingConfig {
  network_id: string;
  /**
   * Networks of the same modality whose region borders this one's (abdomen-mr and heart-mr: a cardiac
   * stack's lowest slices may hold the liver). Their scans are not taken as certainly lacking each
   * other's concepts, by eval's absent prompts or calibrate's negatives. Either side may name the other.
   */
  adjacent_regions?: string[];
  modalities: string[];
  concepts: string[];
  datasets: DatasetConfig[];
}

interface DatasetLabels {
  datasets: Record<string, { labels: Record<string, { concept?: string; relation?: string }> }>;
}

let labelTables: DatasetLabels['datasets'] | undefined;

/** The configs of the networks in `networkIds` (all configs when omitted). */
export function loadTrainingConfigs(networkIds?: ReadonlySet<string>): TrainingConfig[] {
  const dir = join(PACKAGE_ROOT, 'training/configs');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as TrainingConfig)
    .filter((c) => !networkIds || networkIds.has(c.network_id));
}

/**
 * Concept -> label values of a data set, restricted to `networkConcepts`: its explicit map merged with
 * the exact entries of its label table, as the trainer builds them (training/medparse_train/data.py).
 */
export function conceptValues(dataset: DatasetConfig, networkConcepts: readonly string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [id, values] of Object.entries(dataset.concepts ?? {})) out[id] = [...values];
  if (dataset.label_map) {
    labelTables ??= (JSON.parse(readFileSync(dataFile('dataset-labels.json'), 'utf8')) as DatasetLabels).datasets;
    const table = labelTables[dataset.label_map];
    if (!table) throw new Error(`data/dataset-labels.json has no label table "${dataset.label_map}"`);
    for (const [value, entry] of Object.entries(table.labels)) {
      if (entry.relation !== 'exact' || !entry.concept) continue;
      if (!(entry.concept in out)) out[entry.concept] = [];
      if (!out[entry.concept].includes(Number(value))) out[entry.concept].push(Number(value));
    }
  }
  return Object.fromEntries(Object.entries(out).filter(([id]) => networkConcepts.includes(id)));
}

/** A 0/1 mask of the voxels whose label is one of `values` (a concept's reference mask). */
export function labelMask(labels: Volume, values: readonly number[]): Uint8Array {
  const out = new Uint8Array(labels.data.length);
  for (let i = 0; i < out.length; i++) out[i] = values.includes(labels.data[i]) ? 1 : 0;
  return out;
}

/** Whether two networks' regions border each other (either config names the other in adjacent_regions). */
export function regionsTouch(a: TrainingConfig, b: TrainingConfig): boolean {
  return (a.adjacent_regions ?? []).includes(b.network_id) || (b.adjacent_regions ?? []).includes(a.network_id);
}

/**
 * A data set's image as the engine takes it. training/splits.json gives `image_to_hu` [scale, offset] for
 * a data set stored as a window of the HU scale (btcv_ct_half: 8-bit, HU = v * 400 / 255 - 125), the map the
 * trainer applies too (training/medparse_train/preprocess.py window_to_hu); other images are returned as read.
 */
export function asHounsfield(volume: Volume, imageToHu: readonly number[] | undefined): Volume {
  if (!imageToHu) return volume;
  const [scale, offset] = imageToHu;
  if (imageToHu.length !== 2 || !Number.isFinite(scale) || !Number.isFinite(offset) || scale <= 0)
    throw new Error(`training/splits.json: image_to_hu is ${JSON.stringify(imageToHu)}; expected [scale > 0, offset]`);
  const data = new Float32Array(volume.data.length);
  for (let i = 0; i < data.length; i++) data[i] = volume.data[i] * scale + offset;
  return { ...volume, data };
}
