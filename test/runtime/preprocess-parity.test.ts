import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sliceStackMapping } from '../../src/core/orientation.js';
import type { Dims3, Volume, VoxelArray } from '../../src/core/volume.js';
import { readVolume } from '../../src/io/read.js';
import { reorient, resampleToSpacing, zScore } from '../../src/ops/index.js';
import type { ImagingModality, NetworkSpec, NormalizationSpec } from '../../src/runtime/model-package.js';
import {
  backgroundValue,
  prepareInput,
  probabilityOnOriginalGrid,
  withPhysicalAffine,
  type PreparedInput,
} from '../../src/runtime/preprocess.js';
import { asHounsfield } from '../../scripts/training-configs.js';
import { REPO_ROOT, sharedDir, SHARED_MISSING } from '../helpers/shared.js';
import { networkSpec } from '../helpers/network-spec.js';
import { diagonalAffine, filled, obliqueAffine, random } from '../ops/fixtures.js';

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
  return networkSpec({
    id: c.network,
    modalities: [c.modality],
    orientation: c.input.orientation,
    spacing: c.input.spacing,
    patchSize: c.input.patch_size,
    normalization: { [c.modality]: normalization },
  });
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

// ---------------------------------------------------------------------------------------------
// prepareInput resamples straight from the input's data through the reorientation's index mapping and
// windows CT in place. It must give what the algorithm as it was gave (the reference below: a
// reoriented copy of the whole volume, resampled, then normalised into a new array), to the bit: the
// network's input, the mapping back, and so the masks on the original grid.

const CT_WINDOW: NormalizationSpec = { type: 'ct_clip', lower: -125, upper: 275, mean: 75, std: 200 };
const MR_NONZERO: NormalizationSpec = {
  type: 'percentile_zscore',
  lowerPercentile: 0.5,
  upperPercentile: 99.5,
  nonzeroOnly: true,
};
const MR_ALL: NormalizationSpec = { ...MR_NONZERO, nonzeroOnly: false };

function referencePrepare(volume: Volume, network: NetworkSpec, modality: ImagingModality): PreparedInput {
  const spec = network.normalization[modality];
  assert.ok(spec, `${network.id} takes ${modality}`);
  const physical = withPhysicalAffine(volume);
  const mapping = network.sliceAxis === 'thickest' ? sliceStackMapping(physical.affine) : undefined;
  const { volume: reoriented, inverse } = reorient(physical, network.orientation, mapping);
  const resampled = resampleToSpacing(reoriented, network.spacing, 'linear');
  const image = spec.type === 'ct_clip' ? referenceWindow(resampled, spec) : referenceZScore(resampled, spec);
  return {
    image,
    padValue: backgroundValue(spec),
    mapping: {
      reorientation: inverse,
      reorientedGrid: { dims: reoriented.dims, affine: reoriented.affine },
      workingGrid: { dims: image.dims, affine: image.affine },
    },
  };
}

function referenceWindow(volume: Volume, spec: Extract<NormalizationSpec, { type: 'ct_clip' }>): Volume {
  const out = new Float32Array(volume.data.length);
  const scale = 1 / spec.std;
  const data = volume.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] < spec.lower ? spec.lower : data[i] > spec.upper ? spec.upper : data[i];
    out[i] = (v - spec.mean) * scale;
  }
  return { ...volume, data: out };
}

function referenceZScore(volume: Volume, spec: Extract<NormalizationSpec, { type: 'percentile_zscore' }>): Volume {
  const clipPercentiles: [number, number] = [spec.lowerPercentile, spec.upperPercentile];
  return zScore(volume, { nonzero: spec.nonzeroOnly, clipPercentiles }).volume;
}

function syntheticNetwork(
  modality: ImagingModality,
  spec: NormalizationSpec,
  spacing: [number, number, number],
  sliceAxis: NetworkSpec['sliceAxis'] = 'nearest',
): NetworkSpec {
  return networkSpec({
    id: `${modality} ${spec.type}${sliceAxis === 'thickest' ? ', thickest slice axis' : ''} at ${spacing.join('x')} mm`,
    modalities: [modality],
    spacing,
    normalization: { [modality]: spec },
    sliceAxis,
  });
}

/** LPS (DICOM), LIA (FreeSurfer), axes stored out of order, and oblique with permuted axes; all anisotropic. */
const GRIDS: Record<string, number[]> = {
  LPS: diagonalAffine([-0.7, -0.8, 2.5], [90, 110, -40]),
  LIA: obliqueAffine([1.1, 0.9, 1.3], [0, 0, 0], [12, -7, 33], [0, 2, 1], [-1, -1, 1]),
  'stored z, x, y': obliqueAffine([3.1, 0.6, 0.75], [0, 0, 0], [-4, 6, 20], [2, 0, 1], [1, -1, 1]),
  'oblique, permuted': obliqueAffine([1.2, 0.9, 2.2], [0.3, -0.2, 0.25], [-5, 8, 13], [1, 2, 0], [1, -1, 1]),
};
const DIMS: Dims3 = [41, 33, 19];

/** Random CT in HU (int16) or MR (float32, a zero background around a positive body), with a smooth part. */
function randomScan(modality: ImagingModality, affine: number[], seed: number): Volume {
  const next = random(seed);
  const n = DIMS[0] * DIMS[1] * DIMS[2];
  const data: VoxelArray = modality === 'CT' ? new Int16Array(n) : new Float32Array(n);
  const volume = filled(DIMS, affine, data, (i, j, k) => {
    const smooth = Math.sin(i / 4) * Math.cos(j / 5) + k / DIMS[2];
    if (modality === 'CT') return Math.round(-1024 + next() * 600 + smooth * 400 + (next() < 0.05 ? 1500 : 0));
    const body = (i - 20) ** 2 + (j - 16) ** 2 < 14 ** 2;
    return body ? 300 + smooth * 200 + next() * 80 : 0;
  });
  return { ...volume, meta: { ...volume.meta, modality } };
}

/** A made-up network answer on the working grid (a smooth function of its input, crossing 0.5). */
function probabilitiesOf(image: Volume): Volume {
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 1 / (1 + Math.exp(-2 * image.data[i]));
  return { ...image, data };
}

describe('prepareInput without a reoriented copy matches the copy-first algorithm to the bit', () => {
  const networks: Array<[ImagingModality, NetworkSpec]> = [
    ['CT', syntheticNetwork('CT', CT_WINDOW, [1.5, 1.7, 2.9])],
    ['CT', syntheticNetwork('CT', CT_WINDOW, [0.6, 2, 1.1])],
    ['MR', syntheticNetwork('MR', MR_NONZERO, [1.5, 1.5, 3])],
    ['MR', syntheticNetwork('MR', MR_ALL, [0.8, 2.1, 1.7])],
    ['MR', syntheticNetwork('MR', MR_NONZERO, [1.5, 1.5, 5], 'thickest')],
  ];
  let seed = 1;
  for (const [name, affine] of Object.entries(GRIDS)) {
    for (const [modality, network] of networks) {
      it(`${name} grid, ${network.id}`, () => {
        const scan = randomScan(modality, affine, seed++);
        const expected = referencePrepare(scan, network, modality);
        const actual = prepareInput(scan, network, modality);
        // assert/strict compares typed arrays byte for byte: -0 against 0 or one ulp fails
        assert.deepEqual(actual, expected);
        const masks = [actual, expected].map((p) => probabilityOnOriginalGrid(probabilitiesOf(p.image), p.mapping));
        assert.ok(masks[1].voxels > 0, 'the reference mask is not empty');
        assert.deepEqual(masks[0], masks[1]);
      });
    }
  }

  it('keeps the stated voxel size of a unit-scaled sform (ACDC) and the input data unchanged', () => {
    const unitSform = diagonalAffine([-1, -1, 1], [90, 110, -40]);
    const scan = { ...randomScan('MR', unitSform, 99), spacing: [1.45, 1.45, 10] as [number, number, number] };
    const before = scan.data.slice();
    const network = syntheticNetwork('MR', MR_NONZERO, [1.5, 1.5, 5], 'thickest');
    assert.deepEqual(prepareInput(scan, network, 'MR'), referencePrepare(scan, network, 'MR'));
    assert.deepEqual(scan.data, before);
  });
});
