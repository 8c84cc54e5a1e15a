/**
 * What the networks see of a sheared input (a gantry-tilted CT read as acquired): prepareInput straightens
 * the tilt onto an orthogonal working grid through the full affine (the acquired rows and columns and their
 * normal), pads what lies outside the acquired parallelepiped, and maps results back onto the sheared grid.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invert4, isSheared, transformPoint } from '../../src/core/affine.js';
import type { Dims3, Volume } from '../../src/core/volume.js';
import { gridForSpacing, straightenedGrid } from '../../src/ops/index.js';
import type { NetworkSpec, NormalizationSpec } from '../../src/runtime/model-package.js';
import { prepareInput, probabilityOnOriginalGrid } from '../../src/runtime/preprocess.js';
import type { RequestPlan } from '../../src/tasks/stages/plan.js';
import { estimateRequestBytes } from '../../src/tasks/stages/prepare.js';
import { networkSpec } from '../helpers/network-spec.js';

const tilt = (20 * Math.PI) / 180;
const [c, s] = [Math.cos(tilt), Math.sin(tilt)];
// RAS: 1.5 mm rows along x, 1.5 mm columns rising 20 degrees out of the axial plane, 3 mm table steps along z
const affine = [1.5, 0, 0, -21, 0, 1.5 * c, 0, -18, 0, 1.5 * s, 3, -20, 0, 0, 0, 1];
const dims: Dims3 = [28, 24, 12];
// a 150 HU sphere of radius 8 mm in 40 HU tissue, placed in world space
const centre = [0, -2, 3];
const radius = 8;
const distanceFromCentre = (p: number[]) => Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]);

function phantom(): Volume {
  const data = new Int16Array(dims[0] * dims[1] * dims[2]);
  let index = 0;
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++)
      for (let i = 0; i < dims[0]; i++)
        data[index++] = distanceFromCentre(transformPoint(affine, [i, j, k])) <= radius ? 150 : 40;
  return { dims, affine, data, meta: { sourceFormat: 'dicom', modality: 'CT' } };
}

function network(normalization: NormalizationSpec, modality: 'CT' | 'MR' = 'CT'): NetworkSpec {
  return networkSpec({
    modalities: [modality],
    spacing: [1.5, 1.5, 1.5],
    normalization: { [modality]: normalization },
  });
}

const ct: NormalizationSpec = { type: 'ct_clip', lower: -1000, upper: 1000, mean: 0, std: 300 };

describe('a sheared input (gantry tilt 20 degrees) on the working grid', () => {
  const volume = phantom();
  const prepared = prepareInput(volume, network(ct), 'CT');
  const image = prepared.image;
  const [nx, ny, nz] = image.dims;
  // the sphere on the working grid: normalised HU over the midpoint of 40 and 150
  const organ = Float32Array.from(image.data, (v) => (v > 95 / 300 ? 1 : 0));

  it('is orthogonal: the acquired rows and columns, and their normal in place of the table step', () => {
    assert.equal(isSheared(image.affine), false);
    assert.equal(isSheared(volume.affine), true);
    const expected = [1.5, 0, 0, 0, 1.5 * c, -1.5 * s, 0, 1.5 * s, 1.5 * c];
    [0, 1, 2, 4, 5, 6, 8, 9, 10].forEach((m, n) =>
      assert.ok(Math.abs(image.affine[m] - expected[n]) < 1e-12, `affine[${m}] ${image.affine[m]}`),
    );
  });

  it('holds the sphere round and where it is: one centre on every working slice, at the world centre', () => {
    const sums = [0, 0, 0];
    let count = 0;
    const sliceCentres: Array<[number, number]> = [];
    let slices = 0;
    for (let k = 0; k < nz; k++) {
      let [sum, n] = [0, 0];
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          if (!organ[i + nx * (j + ny * k)]) continue;
          [sum, n] = [sum + j, n + 1];
          sums[0] += i;
          sums[1] += j;
          sums[2] += k;
          count++;
        }
      if (n > 0) slices++;
      if (n >= 12) sliceCentres.push([k, sum / n]);
    }
    const world = transformPoint(
      image.affine,
      sums.map((v) => v / count),
    );
    assert.ok(distanceFromCentre(world) < 0.2, `centroid ${world.map((v) => v.toFixed(2)).join(', ')}`);
    // the centre row's trend from slice to slice (least squares): on the sheared grid it moved 0.34 of a
    // voxel a slice (sin 20 degrees), 3.4 voxels over the sphere
    const mean = (f: (p: [number, number]) => number) =>
      sliceCentres.reduce((t, p) => t + f(p), 0) / sliceCentres.length;
    const [mk, mj] = [mean((p) => p[0]), mean((p) => p[1])];
    const slope = mean(([k, j]) => (k - mk) * (j - mj)) / mean(([k]) => (k - mk) ** 2);
    assert.ok(sliceCentres.length >= 8 && Math.abs(slope) < 0.05, `centre rows move ${slope.toFixed(3)} a slice`);
    // 16 mm across along the normal: 10 or 11 slices of 1.5 mm
    assert.ok(slices >= 10 && slices <= 11, `${slices} slices`);
    // the volume: 4/3 pi 8^3 = 2145 mm^3 = 636 working voxels
    assert.ok(Math.abs(count * 1.5 ** 3 - (4 / 3) * Math.PI * radius ** 3) < 0.05 * 2145, `${count} voxels`);
  });

  it('pads what lies outside the acquired parallelepiped, and only that', () => {
    const toSource = invert4(volume.affine);
    let outside = 0;
    let index = 0;
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++, index++) {
          const v = transformPoint(toSource, transformPoint(image.affine, [i, j, k]));
          const out = v.some((x, a) => x < -0.5 - 1e-6 || x > dims[a] - 0.5 + 1e-6);
          if (out) {
            outside++;
            assert.equal(image.data[index], Math.fround(prepared.padValue));
          } else {
            // interpolated between 40 and 150 HU
            const value = image.data[index] * 300;
            assert.ok(value > 40 - 1e-3 && value < 150 + 1e-3, `voxel ${i} ${j} ${k}: ${value} HU`);
          }
        }
    assert.ok(outside > 0.05 * image.data.length, `${outside} of ${image.data.length} voxels outside`);
  });

  it('maps the working mask back onto the acquired sheared grid', () => {
    const back = probabilityOnOriginalGrid({ ...image, data: organ }, prepared.mapping);
    let [truth, wrong] = [0, 0];
    let index = 0;
    for (let k = 0; k < dims[2]; k++)
      for (let j = 0; j < dims[1]; j++)
        for (let i = 0; i < dims[0]; i++, index++) {
          const d = distanceFromCentre(transformPoint(affine, [i, j, k]));
          const inside = d <= radius;
          truth += inside ? 1 : 0;
          if (inside === back.probability[index] > 0) continue;
          wrong++;
          // only at the surface: within a working voxel's half diagonal (1.3 mm) and the way back's
          assert.ok(Math.abs(d - radius) < 1.5, `voxel ${i} ${j} ${k} is ${d.toFixed(2)} mm from the centre`);
        }
    assert.ok(wrong <= 0.1 * truth, `${wrong} of ${truth} voxels differ`);
  });

  it('z-scores MR over the acquired voxels only; the padding is 0', () => {
    const mr = prepareInput(
      { ...volume, meta: { ...volume.meta, modality: 'MR' } },
      network({ type: 'percentile_zscore', lowerPercentile: 0, upperPercentile: 100, nonzeroOnly: false }, 'MR'),
      'MR',
    );
    const toSource = invert4(volume.affine);
    let [sum, n, index] = [0, 0, 0];
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++, index++) {
          const v = transformPoint(toSource, transformPoint(mr.image.affine, [i, j, k]));
          if (v.some((x, a) => x < -0.5 - 1e-6 || x > dims[a] - 0.5 + 1e-6)) assert.equal(mr.image.data[index], 0);
          else [sum, n] = [sum + mr.image.data[index], n + 1];
        }
    assert.ok(Math.abs(sum / n) < 1e-4, `mean ${sum / n}`);
  });

  it('is what the memory estimate counts', () => {
    const plan = { queries: new Map([[network(ct), [0]]]) } as unknown as RequestPlan;
    const grid = { dims, bytesPerVoxel: 2, spacing: [1.5, 1.5, 3] as [number, number, number] };
    const sheared = estimateRequestBytes({ ...grid, affine }, plan, false);
    const asProduct = estimateRequestBytes(grid, plan, false);
    // 4 bytes for each of 4 float32 copies (the image, one map and 3 more) per working voxel
    const product = (dims[0] * dims[1] * dims[2] * 1.5 * 1.5 * 3) / 1.5 ** 3;
    assert.ok(Math.abs(sheared - asProduct - (nx * ny * nz - product) * 4 * 4) < 1e-3, `${sheared - asProduct}`);
  });

  it('is gridForSpacing on an orthogonal grid', () => {
    const grid = { dims: [20, 16, 9] as Dims3, affine: [0.8, 0, 0, 3, 0, 0, -2.5, 1, 0, 1.1, 0, -4, 0, 0, 0, 1] };
    const a = straightenedGrid(grid, [1.5, 2, 1]);
    const b = gridForSpacing(grid, [1.5, 2, 1]);
    assert.deepEqual(a.dims, b.dims);
    a.affine.forEach((v, m) => assert.ok(Math.abs(v - b.affine[m]) < 1e-12, `affine[${m}] ${v} vs ${b.affine[m]}`));
  });
});
