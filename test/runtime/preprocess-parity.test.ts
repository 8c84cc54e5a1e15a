import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readVolume } from '../../src/io/read.js';
import type { NetworkSpec, NormalizationSpec } from '../../src/runtime/model-package.js';
import { prepareInput } from '../../src/runtime/preprocess.js';
import { asHounsfield } from '../../scripts/training-configs.js';
import { REPO_ROOT, sharedDir, SHARED_MISSING } from '../helpers/shared.js';

/** What the Python trainer's preprocessing produced for real volumes (training/medparse_train/parity_fixture.py). */
interface ParityCase {
  volume: string;
  modality: 'CT' | 'MR';
  network: string;
  input: {
    orientation: string;
    spacing: [number, number, number];
    patch_size: [number, number, number];
    normalization: Record<string, Record<string, number | string | boolean>>;
  };
  /** [scale, offset] to HU for an image stored as a window of HU (8-bit BTCV), applied before preprocessing. */
  image_to_hu?: number[];
  resampled: { shape: number[] };
  output: { shape: number[]; mean: number; std: number; min: number; max: number; samples: Record<string, number> };
}

const FIXTURE = join(REPO_ROOT, 'training/fixtures/preprocess-parity.json');
const shared = sharedDir();
const skip = !shared
  ? SHARED_MISSING
  : !existsSync(FIXTURE)
    ? 'skipped: training/fixtures/preprocess-parity.json is missing'
    : false;

function networkOf(c: ParityCase): NetworkSpec {
  const raw = c.input.normalization[c.modality];
  const normalization: NormalizationSpec =
    raw.type === 'ct_clip'
      ? {
          type: 'ct_clip',
          lower: Number(raw.lower),
          upper: Number(raw.upper),
          mean: Number(raw.mean),
          std: Number(raw.std),
        }
      : {
          type: 'percentile_zscore',
          lowerPercentile: Number(raw.lower_percentile),
          upperPercentile: Number(raw.upper_percentile),
          nonzeroOnly: raw.nonzero_only === true,
        };
  return {
    id: c.network,
    file: '',
    modalities: [c.modality],
    orientation: c.input.orientation,
    spacing: c.input.spacing,
    patchSize: c.input.patch_size,
    normalization: { [c.modality]: normalization },
    featureChannels: 0,
    connectedGroups: [],
    concepts: [],
    sliceAxis: 'nearest',
    flipSearch: [],
  };
}

describe('TypeScript preprocessing matches the Python trainer (parity fixture)', { skip }, () => {
  const cases: ParityCase[] = skip ? [] : (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: ParityCase[] }).cases;
  for (const c of cases) {
    it(`${c.volume} -> ${c.network}`, async () => {
      const volume = asHounsfield(await readVolume(join(shared ?? '', 'data', c.volume)), c.image_to_hu);
      const { image } = prepareInput(volume, networkOf(c), c.modality);
      assert.deepEqual(image.dims, c.resampled.shape, 'working grid shape');
      assert.deepEqual([...image.dims].reverse(), c.output.shape, 'tensor shape [Z, Y, X]');
      const data = image.data;
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < data.length; i++) {
        sum += data[i];
        if (data[i] < min) min = data[i];
        if (data[i] > max) max = data[i];
      }
      const mean = sum / data.length;
      let squares = 0;
      for (let i = 0; i < data.length; i++) squares += (data[i] - mean) ** 2;
      const std = Math.sqrt(squares / data.length);
      assert.ok(Math.abs(mean - c.output.mean) < 1e-3, `mean ${mean} vs ${c.output.mean}`);
      assert.ok(Math.abs(std - c.output.std) < 1e-3, `std ${std} vs ${c.output.std}`);
      assert.ok(
        Math.abs(min - c.output.min) < 1e-3 && Math.abs(max - c.output.max) < 1e-3,
        `range ${min}..${max} vs ${c.output.min}..${c.output.max}`,
      );
      for (const [index, expected] of Object.entries(c.output.samples)) {
        assert.ok(
          Math.abs(data[Number(index)] - expected) < 1e-3,
          `voxel ${index}: ${data[Number(index)]} vs ${expected}`,
        );
      }
    });
  }
});
