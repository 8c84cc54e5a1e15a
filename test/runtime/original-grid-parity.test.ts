/**
 * probabilityOnOriginalGrid resamples only the parts of the box's rows that can exceed the threshold
 * and writes them straight into original voxel order; it must give what resampling the whole box and
 * scattering every voxel gave (the reference below, the algorithm as it was), to the voxel and the box.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invert4, multiply4, transformPoint, type Vec3 } from '../../src/core/affine.js';
import type { Dims3, Volume } from '../../src/core/volume.js';
import { reorient, resampleToGrid, resampleToSpacing } from '../../src/ops/index.js';
import { probabilityOnOriginalGrid, type Box, type WorkingGridMapping } from '../../src/runtime/preprocess.js';
import { obliqueAffine, random } from '../ops/fixtures.js';

/** The working grid of a scan on `affine`, as prepareInput makes it (RAS, 3 mm), and the mapping back. */
function workingGrid(dims: Dims3, affine: number[]): { working: Volume; mapping: WorkingGridMapping } {
  const scan: Volume = {
    dims,
    affine,
    data: new Float32Array(dims[0] * dims[1] * dims[2]),
    meta: { sourceFormat: 'generated', modality: 'CT' },
  };
  const { volume: reoriented, inverse } = reorient(scan, 'RAS');
  const working = resampleToSpacing(reoriented, [3, 3, 3], 'linear');
  return {
    working,
    mapping: {
      reorientation: inverse,
      reorientedGrid: { dims: reoriented.dims, affine: reoriented.affine },
      workingGrid: { dims: working.dims, affine: working.affine },
    },
  };
}

/** Smooth probabilities (sums of Gaussian bumps, some crossing 0.5) with a few isolated voxels over it. */
function probabilities(dims: Dims3, next: () => number, bumps: number): Float32Array {
  const [nx, ny, nz] = dims;
  const data = new Float32Array(nx * ny * nz);
  for (let b = 0; b < bumps; b++) {
    const centre = dims.map((n) => next() * n);
    const width = 1 + next() * 3;
    const height = 0.4 + next() * 0.6;
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          const d2 = (i - centre[0]) ** 2 + (j - centre[1]) ** 2 + (k - centre[2]) ** 2;
          data[i + nx * (j + ny * k)] += height * Math.exp(-d2 / (2 * width * width));
        }
  }
  for (let s = 0; s < 5; s++) data[Math.floor(next() * data.length)] = 0.5 + next() * 0.5;
  for (let i = 0; i < data.length; i++) data[i] = Math.min(1, data[i]);
  return data;
}

// ---------------------------------------------------------------------------------------------
// Reference: the box resampled whole, then every voxel thresholded and scattered.

function referenceOnOriginalGrid(working: Volume, mapping: WorkingGridMapping, threshold = 0.5) {
  const record = mapping.reorientation;
  const dims = record.originalDims;
  const out = new Uint8Array(dims[0] * dims[1] * dims[2]);
  const workingBox = boxAbove(working, threshold);
  if (!workingBox) return { probability: out, voxels: 0, box: null };
  const box = reorientedBoxOf(workingBox, mapping);
  const size = [box[3] - box[0] + 1, box[4] - box[1] + 1, box[5] - box[2] + 1] as Dims3;
  const origin = transformPoint(mapping.reorientedGrid.affine, [box[0], box[1], box[2]]);
  const a = mapping.reorientedGrid.affine;
  const affine = [a[0], a[1], a[2], origin[0], a[4], a[5], a[6], origin[1], a[8], a[9], a[10], origin[2], 0, 0, 0, 1];
  const values = resampleToGrid(working, { dims: size, affine }, 'linear').data;
  const originalBox: Box = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  let voxels = 0;
  let index = 0;
  for (let c = 0; c < size[2]; c++)
    for (let b = 0; b < size[1]; b++)
      for (let n = 0; n < size[0]; n++, index++) {
        const p = values[index];
        if (p <= threshold) continue;
        const reoriented = [box[0] + n, box[1] + b, box[2] + c];
        const original = [0, 0, 0];
        for (let axis = 0; axis < 3; axis++) {
          const to = record.permutation[axis];
          original[to] = record.flips[axis] ? dims[to] - 1 - reoriented[axis] : reoriented[axis];
        }
        out[original[0] + dims[0] * (original[1] + dims[1] * original[2])] = Math.max(1, Math.round(p * 255));
        voxels++;
        for (let axis = 0; axis < 3; axis++) {
          originalBox[axis] = Math.min(originalBox[axis], original[axis]);
          originalBox[axis + 3] = Math.max(originalBox[axis + 3], original[axis]);
        }
      }
  return { probability: out, voxels, box: voxels ? originalBox : null };
}

function boxAbove(volume: Volume, threshold: number): Box | null {
  const [nx, ny, nz] = volume.dims;
  const box: Box = [nx, ny, nz, -1, -1, -1];
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (!(volume.data[i + nx * (j + ny * k)] > threshold)) continue;
        [i, j, k].forEach((v, axis) => {
          box[axis] = Math.min(box[axis], v);
          box[axis + 3] = Math.max(box[axis + 3], v);
        });
      }
  return box[3] < 0 ? null : box;
}

function reorientedBoxOf(workingBox: Box, mapping: WorkingGridMapping): Box {
  const toReoriented = multiply4(invert4(mapping.reorientedGrid.affine), mapping.workingGrid.affine);
  const dims = mapping.reorientedGrid.dims;
  const out: Box = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  for (const i of [workingBox[0] - 1, workingBox[3] + 1])
    for (const j of [workingBox[1] - 1, workingBox[4] + 1])
      for (const k of [workingBox[2] - 1, workingBox[5] + 1]) {
        const p = transformPoint(toReoriented, [i, j, k]);
        for (let axis = 0; axis < 3; axis++) {
          out[axis] = Math.max(0, Math.min(out[axis], Math.floor(p[axis])));
          out[axis + 3] = Math.min(dims[axis] - 1, Math.max(out[axis + 3], Math.ceil(p[axis])));
        }
      }
  return out;
}

// ---------------------------------------------------------------------------------------------

const SCANS: Array<{ name: string; dims: Dims3; spacing: Vec3; axes: Vec3; signs: Vec3; angles: Vec3 }> = [
  // DICOM-like LPS axial: x and y flipped into RAS
  {
    name: 'axial LPS CT',
    dims: [71, 64, 23],
    spacing: [0.7, 0.7, 2.5],
    axes: [0, 1, 2],
    signs: [-1, -1, 1],
    angles: [0, 0, 0],
  },
  // sagittal: the voxel axes permuted against RAS, slightly oblique
  {
    name: 'oblique sagittal',
    dims: [19, 60, 52],
    spacing: [3.2, 0.9, 1.1],
    axes: [2, 1, 0],
    signs: [1, -1, -1],
    angles: [0.05, 0, 0.03],
  },
];

describe('probabilityOnOriginalGrid matches resampling the whole box and scattering every voxel', () => {
  for (const scan of SCANS) {
    for (const seed of [1, 2, 3]) {
      it(`${scan.name}, seed ${seed}`, () => {
        const next = random(seed);
        const affine = obliqueAffine(scan.spacing, scan.angles, [-40, 30, 12], scan.axes, scan.signs);
        const { working, mapping } = workingGrid(scan.dims, affine);
        const map = { ...working, data: probabilities(working.dims, next, 2 + seed) };
        const expected = referenceOnOriginalGrid(map, mapping);
        assert.ok(expected.voxels > 0, 'the fixture has a mask');
        const got = probabilityOnOriginalGrid(map, mapping);
        assert.equal(got.voxels, expected.voxels);
        assert.deepEqual(got.box, expected.box);
        assert.deepEqual(got.probability, expected.probability);
      });
    }
  }

  it('also at a threshold under the fill value (every box voxel resampled)', () => {
    const { working, mapping } = workingGrid([40, 36, 12], obliqueAffine([0.8, 0.8, 3], [0, 0, 0], [0, 0, 0]));
    const map = { ...working, data: probabilities(working.dims, random(7), 3) };
    const expected = referenceOnOriginalGrid(map, mapping, -0.1);
    assert.deepEqual(probabilityOnOriginalGrid(map, mapping, -0.1), expected);
  });

  it('answers an empty map with no voxels and no box', () => {
    const { working, mapping } = workingGrid([30, 30, 10], obliqueAffine([1, 1, 3], [0, 0, 0], [0, 0, 0]));
    const got = probabilityOnOriginalGrid({ ...working, data: new Float32Array(working.data.length) }, mapping);
    assert.equal(got.voxels, 0);
    assert.equal(got.box, null);
  });
});
