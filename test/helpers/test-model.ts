import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  manifestPath,
  readModelManifest,
  writeModelManifest,
  type ManifestConcept,
  type ManifestModality,
  type ModelManifest,
} from '../../src/runtime/model-manifest.js';
import { bandNetwork } from './onnx-builder.js';

/** HU bands of the test model's concepts (see PHANTOM_STRUCTURES for the phantom's values). */
export const TEST_CONCEPTS = [
  { id: 'kidney', lowHu: 110, highHu: 190 },
  { id: 'vertebral_column', lowHu: 500, highHu: 1000 },
  // 2000-3000 HU is clipped away by the CT normalisation: this concept is never present.
  { id: 'brain', lowHu: 2000, highHu: 3000 },
] as const;

const CT_STD = 300;

/**
 * Writes a model package whose one CT network finds intensity bands (known answers on the phantom),
 * obeying docs/model-contract.md. `spacing` is the working spacing (by default the phantom's own, so answers are exact).
 */
export function writeTestModel(
  dir: string,
  spacing: [number, number, number] = [2.5, 2.5, 4],
  { uncalibrated = [] }: { uncalibrated?: readonly string[] } = {},
): string {
  mkdirSync(dir, { recursive: true });
  const centre = TEST_CONCEPTS.map((c) => (c.lowHu + c.highHu) / 2 / CT_STD);
  const halfWidth = TEST_CONCEPTS.map((c) => (c.highHu - c.lowHu) / 2 / CT_STD);
  writeFileSync(join(dir, 'bands.onnx'), bandNetwork(centre, halfWidth));
  // MR: "hippocampus" stands in for any bright structure (z-score 1 to 3) so MR inputs get a mask too.
  writeFileSync(join(dir, 'bright.onnx'), bandNetwork([2], [1]));
  const manifest: ModelManifest = {
    schema_version: 1,
    name: 'test-bands',
    version: '0.0.1',
    license: 'Apache-2.0',
    training_data: 'none: a closed-form network for tests',
    networks: [
      {
        id: 'body-ct',
        file: 'bands.onnx',
        modalities: ['CT'],
        input: {
          orientation: 'RAS',
          spacing,
          patch_size: [32, 32, 16],
          channels: 1,
          normalization: { CT: { type: 'ct_clip', lower: -1000, upper: 1000, mean: 0, std: CT_STD } },
        },
        output: { feature_channels: 1 },
        concepts: TEST_CONCEPTS.map((c, index) => ({ id: c.id, index, ...calibrated(c.id, 'CT', uncalibrated) })),
      },
      {
        id: 'bright-mr',
        file: 'bright.onnx',
        modalities: ['MR'],
        input: {
          orientation: 'RAS',
          spacing: [2, 2, 2],
          patch_size: [32, 32, 32],
          channels: 1,
          normalization: {
            MR: { type: 'percentile_zscore', lower_percentile: 0.5, upper_percentile: 99.5, nonzero_only: true },
          },
        },
        output: { feature_channels: 1 },
        concepts: [{ id: 'hippocampus', index: 0, ...calibrated('hippocampus', 'MR', uncalibrated) }],
      },
    ],
  };
  writeModelManifest(dir, manifest);
  return dir;
}

/**
 * Edits a package's model.json through its typed reader and writer. `unchecked` reads and writes without
 * the schema check, for tests of how a broken manifest is refused (and edits of one already broken).
 */
export function editModelManifest(
  dir: string,
  edit: (manifest: ModelManifest) => void,
  { unchecked = false }: { unchecked?: boolean } = {},
): void {
  const manifest = unchecked
    ? (JSON.parse(readFileSync(manifestPath(dir), 'utf8')) as ModelManifest)
    : readModelManifest(dir);
  edit(manifest);
  if (unchecked) writeFileSync(manifestPath(dir), JSON.stringify(manifest));
  else writeModelManifest(dir, manifest);
}

/**
 * A calibration that changes no answer (the contract's default threshold 0) but says presence was checked:
 * medparse answers an uncalibrated row only with --experimental. Concepts in `uncalibrated` get none.
 */
function calibrated(
  id: string,
  modality: ManifestModality,
  uncalibrated: readonly string[],
): Pick<ManifestConcept, 'calibration'> {
  return uncalibrated.includes(id) ? {} : { calibration: { [modality]: { presence_threshold: 0 } } };
}
