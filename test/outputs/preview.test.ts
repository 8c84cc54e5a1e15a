import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Vec3 } from '../../src/core/affine.js';
import { transformPoint } from '../../src/core/affine.js';
import { makePhantomCt, phantomLabelAt } from '../../src/core/phantom.js';
import type { Volume } from '../../src/core/volume.js';
import { makeLabelTable } from '../../src/io/label-table.js';
import type { PreviewPanel } from '../../src/outputs/preview.js';
import { defaultWindow, renderPreview, renderPreviewImage } from '../../src/outputs/preview.js';
import { decodePng, pixelAt } from './png-decode.js';

type Matrix3 = number[][];

const IDENTITY: Matrix3 = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];
/** Voxel axes running to patient left, posterior, superior (DICOM's order). */
const LPS: Matrix3 = [
  [-1, 0, 0],
  [0, -1, 0],
  [0, 0, 1],
];

function rotation(yaw: number, pitch: number): Matrix3 {
  const [cz, sz, cx, sx] = [Math.cos(yaw), Math.sin(yaw), Math.cos(pitch), Math.sin(pitch)];
  const rz = [
    [cz, -sz, 0],
    [sz, cz, 0],
    [0, 0, 1],
  ];
  const rx = [
    [1, 0, 0],
    [0, cx, -sx],
    [0, sx, cx],
  ];
  return rz.map((row) => [0, 1, 2].map((c) => row[0] * rx[0][c] + row[1] * rx[1][c] + row[2] * rx[2][c]));
}

/** RAS affine with direction columns `directions`, voxel size `spacing`, the grid centred on the world origin. */
function centredAffine(directions: Matrix3, spacing: Vec3, dims: Vec3): number[] {
  const column = (a: number) => [0, 1, 2].map((r) => directions[r][a] * spacing[a]);
  const [ci, cj, ck] = [column(0), column(1), column(2)];
  const centre = dims.map((n) => (n - 1) / 2);
  const t = [0, 1, 2].map((r) => -(ci[r] * centre[0] + cj[r] * centre[1] + ck[r] * centre[2]));
  return [ci[0], cj[0], ck[0], t[0], ci[1], cj[1], ck[1], t[1], ci[2], cj[2], ck[2], t[2], 0, 0, 0, 1];
}

function constantVolume(dims: Vec3, affine: readonly number[], value: number, modality: 'CT' | 'MR' = 'CT'): Volume {
  return {
    dims,
    affine: [...affine],
    data: new Int16Array(dims[0] * dims[1] * dims[2]).fill(value),
    meta: { sourceFormat: 'generated', modality },
  };
}

/** Label 1 on every voxel within `radius` mm of world point `centre`. */
function ballLabels(image: Volume, centre: Vec3, radius: number): Volume {
  const [nx, ny, nz] = image.dims;
  const data = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const w = transformPoint(image.affine, [i, j, k]);
        if (Math.hypot(w[0] - centre[0], w[1] - centre[1], w[2] - centre[2]) <= radius) data[i + nx * (j + ny * k)] = 1;
      }
    }
  }
  return { ...image, data, meta: { ...image.meta } };
}

/** Pixel (x, y) in the whole preview that shows world point `w` on `panel`. */
function pixelOf(panel: PreviewPanel, w: Vec3): [number, number] {
  const d = [0, 1, 2].map((a) => w[a] - panel.origin[a]);
  const project = (step: Vec3) =>
    (d[0] * step[0] + d[1] * step[1] + d[2] * step[2]) / (step[0] ** 2 + step[1] ** 2 + step[2] ** 2);
  return [panel.x + Math.round(project(panel.right)), panel.y + Math.round(project(panel.down))];
}

const RED_TABLE = makeLabelTable([{ value: 1, name: 'Marker', id: 'marker', color: [255, 0, 0] }]);
/** 40 HU in the [-160, 240] window is grey 127.5; half red over it. */
const RED_OVER_GREY: [number, number, number] = [
  Math.round(127.5 / 2 + 255 / 2),
  Math.round(127.5 / 2),
  Math.round(127.5 / 2),
];

describe('preview: layout', () => {
  it('sizes panels by physical extent: thick slices make coronal and sagittal panels narrower', () => {
    const dims: Vec3 = [40, 40, 20];
    for (const directions of [IDENTITY, LPS]) {
      const image = constantVolume(dims, centredAffine(directions, [1, 1, 4], dims), 40);
      const png = decodePng(renderPreview(image, ballLabels(image, [0, 0, 0], 5), RED_TABLE));
      // 40 x 40 x 80 mm: axial square, coronal and sagittal half as wide as tall.
      const { panels } = renderPreviewImage(image, ballLabels(image, [0, 0, 0], 5), RED_TABLE);
      assert.deepEqual(
        panels.map((p) => [p.plane, p.width, p.height]),
        [
          ['axial', 256, 256],
          ['coronal', 128, 256],
          ['sagittal', 128, 256],
        ],
      );
      assert.equal(png.width, 256 + 4 + 128 + 4 + 128);
      assert.equal(png.height, 256);
    }
  });

  it('uses the spacing the file states when the affine is unit-scaled', () => {
    const dims: Vec3 = [40, 40, 20];
    const image: Volume = { ...constantVolume(dims, centredAffine(IDENTITY, [1, 1, 1], dims), 40), spacing: [1, 1, 4] };
    const { panels } = renderPreviewImage(image, constantVolume(dims, image.affine, 0), RED_TABLE);
    assert.deepEqual(
      panels.map((p) => p.width),
      [256, 128, 128],
    );
  });

  it('keeps oblique volumes in proportion (square pixels, thick stack still taller than wide)', () => {
    const dims: Vec3 = [40, 40, 20];
    const image = constantVolume(dims, centredAffine(rotation(0.3, -0.2), [1, 1, 4], dims), 40);
    const { panels, image: rgb } = renderPreviewImage(image, ballLabels(image, [0, 0, 0], 5), RED_TABLE);
    assert.ok(panels.every((p) => p.height === 256));
    assert.ok(panels[1].width < 200 && panels[2].width < 200, JSON.stringify(panels.map((p) => p.width)));
    for (const p of panels) assert.ok(Math.abs(Math.hypot(...p.right) - Math.hypot(...p.down)) < 1e-9);
    assert.equal(rgb.width, panels.reduce((sum, p) => sum + p.width, 0) + 8);
  });

  it('caps extreme aspect ratios instead of drawing a strip', () => {
    const dims: Vec3 = [200, 200, 2];
    const image = constantVolume(dims, centredAffine(IDENTITY, [1, 1, 1], dims), 40);
    const { panels } = renderPreviewImage(image, constantVolume(dims, image.affine, 0), RED_TABLE);
    assert.equal(panels[1].width, 1024);
    assert.ok(panels[1].height >= 1 && panels[1].height < 256);
  });
});

describe('preview: orientation and colours', () => {
  // A marker at the patient's left (x < 0), anterior (y > 0), superior (z > 0).
  const marker: Vec3 = [-15, 20, 25];
  const dims: Vec3 = [48, 48, 24];
  const cases: Array<[string, Matrix3]> = [
    ['RAS-stored', IDENTITY],
    ['LPS-stored', LPS],
    ['oblique', rotation(0.3, -0.2)],
  ];
  for (const [name, directions] of cases) {
    it(`shows a left-anterior-superior marker radiologically on a ${name} volume`, () => {
      const image = constantVolume(dims, centredAffine(directions, [1.5, 1.5, 3], dims), 40);
      const labels = ballLabels(image, marker, 7);
      const render = renderPreviewImage(image, labels, RED_TABLE);
      const png = decodePng(renderPreview(image, labels, RED_TABLE));
      assert.deepEqual([png.width, png.height], [render.image.width, render.image.height]);
      const [axial, coronal, sagittal] = render.panels;
      const inPanel = (panel: PreviewPanel) => {
        const [x, y] = pixelOf(panel, marker);
        return { x, y, right: x - panel.x > panel.width / 2, up: y - panel.y < panel.height / 2 };
      };
      // Axial: patient's left on the image right, anterior up.
      assert.deepEqual([inPanel(axial).right, inPanel(axial).up], [true, true]);
      // Coronal: patient's left on the image right, superior up.
      assert.deepEqual([inPanel(coronal).right, inPanel(coronal).up], [true, true]);
      // Sagittal: anterior on the image left, superior up.
      assert.deepEqual([inPanel(sagittal).right, inPanel(sagittal).up], [false, true]);
      for (const panel of render.panels) {
        const { x, y } = inPanel(panel);
        assert.deepEqual(pixelAt(png, x, y), RED_OVER_GREY, `${panel.plane} at ${x},${y}`);
      }
    });
  }

  it('draws the label outline opaque and leaves unlabelled tissue grey', () => {
    const image = constantVolume(dims, centredAffine(IDENTITY, [1.5, 1.5, 3], dims), 40);
    const labels = ballLabels(image, [0, 0, 0], 10);
    const render = renderPreviewImage(image, labels, RED_TABLE);
    const axial = render.panels[0];
    const png = decodePng(renderPreview(image, labels, RED_TABLE));
    const row = axial.y + Math.floor(axial.height / 2);
    const colours = Array.from({ length: axial.width }, (_, u) => pixelAt(png, axial.x + u, row));
    const firstRed = colours.findIndex((c) => c[0] > 128 + 10);
    assert.deepEqual(colours[firstRed], [255, 0, 0], 'outline pixel');
    assert.deepEqual(colours[firstRed - 1], [128, 128, 128], 'grey just outside');
    assert.deepEqual(colours[firstRed + 3], RED_OVER_GREY, 'blended inside');
  });
});

describe('preview: the phantom', () => {
  it('shows the liver on the image left and the spleen on the image right of the axial panel', () => {
    const image = makePhantomCt({ dims: [64, 64, 32] });
    const [nx, ny, nz] = image.dims;
    const data = new Uint8Array(nx * ny * nz);
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++)
          data[i + nx * (j + ny * k)] =
            phantomLabelAt(i / nx, j / ny, k / nz) === 2 ? 2 : phantomLabelAt(i / nx, j / ny, k / nz) === 3 ? 3 : 0;
    }
    const labels: Volume = { ...image, data };
    const table = makeLabelTable([
      { value: 2, name: 'Liver', id: 'liver', color: [200, 0, 0] },
      { value: 3, name: 'Spleen', id: 'spleen', color: [0, 0, 200] },
    ]);
    // A window above every value makes the grey 0, so a blended pixel is exactly half its colour.
    const png = decodePng(renderPreview(image, labels, table, { window: [5000, 6000] }));
    const axial = renderPreviewImage(image, labels, table).panels[0];
    const meanX = (colour: number[]) => {
      const xs: number[] = [];
      for (let y = axial.y; y < axial.y + axial.height; y++) {
        for (let x = axial.x; x < axial.x + axial.width; x++)
          if (pixelAt(png, x, y).every((c, n) => c === colour[n])) xs.push(x - axial.x);
      }
      assert.ok(xs.length > 20, `${xs.length} pixels of ${colour}`);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    assert.ok(meanX([100, 0, 0]) < axial.width / 2, 'liver (patient right) on the image left');
    assert.ok(meanX([0, 0, 100]) > axial.width / 2, 'spleen (patient left) on the image right');
  });
});

describe('preview: centre and window', () => {
  it('passes through the centroid of the largest label, or the volume centre when nothing is labelled', () => {
    const dims: Vec3 = [30, 20, 10];
    const image = constantVolume(dims, centredAffine(IDENTITY, [1, 1, 1], dims), 40);
    const labels = constantVolume(dims, image.affine, 0);
    assert.deepEqual(renderPreviewImage(image, labels, RED_TABLE).centre, [14.5, 9.5, 4.5]);
    const data = labels.data;
    for (let i = 2; i <= 4; i++) data[i + 30 * (3 + 20 * 5)] = 2; // three voxels of label 2
    data[20 + 30 * (10 + 20 * 1)] = 1; // one voxel of label 1
    assert.deepEqual(renderPreviewImage(image, labels, RED_TABLE).centre, [3, 3, 5]);
    assert.deepEqual(renderPreviewImage(image, labels, RED_TABLE, { centre: [1, 2, 3] }).centre, [1, 2, 3]);
  });

  it('windows CT (stated or recognised by its values) at [-160, 240] and anything else at its 1st-99th percentile', () => {
    const dims: Vec3 = [100, 10, 10];
    const ramp = constantVolume(dims, centredAffine(IDENTITY, [1, 1, 1], dims), 0, 'MR');
    for (let n = 0; n < ramp.data.length; n++) ramp.data[n] = n % 1000;
    const [low, high] = defaultWindow(ramp);
    assert.ok(Math.abs(low - 10) <= 2 && Math.abs(high - 989) <= 2, `${low}, ${high}`);
    assert.deepEqual(defaultWindow({ ...ramp, meta: { ...ramp.meta, modality: 'CT' } }), [-160, 240]);
    const huLike = constantVolume(dims, ramp.affine, 40, 'MR');
    huLike.meta.modality = 'unknown';
    for (let n = 0; n < huLike.data.length; n += 3) huLike.data[n] = -1000;
    assert.deepEqual(defaultWindow(huLike), [-160, 240]);
  });

  it('refuses a label map on another grid', () => {
    const image = constantVolume([10, 10, 10], centredAffine(IDENTITY, [1, 1, 1], [10, 10, 10]), 0);
    assert.throws(
      () => renderPreview(image, constantVolume([10, 10, 9], image.affine, 0), RED_TABLE),
      /not on the image's grid/,
    );
  });
});
