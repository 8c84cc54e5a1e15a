import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Vec3 } from '../../src/core/affine.js';
import { transformPoint } from '../../src/core/affine.js';
import { makePhantomCt, phantomLabelAt } from '../../src/core/phantom.js';
import type { Volume } from '../../src/core/volume.js';
import { makeLabelTable } from '../../src/io/label-table.js';
import type { PreviewPanel } from '../../src/outputs/preview.js';
import { defaultWindow, ORIENTATION_LETTERS, renderPreview, renderPreviewImage } from '../../src/outputs/preview.js';
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
  it('draws every panel on one millimetre scale, the longest side of the region 360 px', () => {
    const dims: Vec3 = [40, 40, 20];
    for (const directions of [IDENTITY, LPS]) {
      const image = constantVolume(dims, centredAffine(directions, [1, 1, 4], dims), 40);
      const render = renderPreviewImage(image, ballLabels(image, [0, 0, 0], 5), RED_TABLE);
      // 40 x 40 x 80 mm of body: axial 40 x 40 mm, coronal and sagittal 40 x 80 mm, at 80 / 360 mm a pixel
      assert.deepEqual(
        render.panels.map((p) => [p.plane, p.width, p.height]),
        [
          ['axial', 180, 180],
          ['coronal', 180, 360],
          ['sagittal', 180, 360],
        ],
      );
      assert.ok(render.panels.every((p) => Math.abs(p.mmPerPixel - 80 / 360) < 1e-9));
      const png = decodePng(renderPreview(image, ballLabels(image, [0, 0, 0], 5), RED_TABLE));
      assert.equal(png.width, 180 * 3 + 8);
      assert.ok(png.height > 360, 'the panels, their names above and the legend below');
    }
  });

  it('uses the spacing the file states when the affine is unit-scaled', () => {
    const dims: Vec3 = [40, 40, 20];
    const image: Volume = { ...constantVolume(dims, centredAffine(IDENTITY, [1, 1, 1], dims), 40), spacing: [1, 1, 4] };
    const { panels } = renderPreviewImage(image, constantVolume(dims, image.affine, 0), RED_TABLE);
    assert.deepEqual(
      panels.map((p) => [p.width, p.height]),
      [
        [180, 180],
        [180, 360],
        [180, 360],
      ],
    );
  });

  it('keeps oblique volumes in proportion (square pixels, thick stack still taller than wide)', () => {
    const dims: Vec3 = [40, 40, 20];
    const image = constantVolume(dims, centredAffine(rotation(0.3, -0.2), [1, 1, 4], dims), 40);
    const { panels, image: rgb } = renderPreviewImage(image, ballLabels(image, [0, 0, 0], 5), RED_TABLE);
    assert.ok(panels[1].height > panels[1].width && panels[2].height > panels[2].width, JSON.stringify(panels));
    for (const p of panels) assert.ok(Math.abs(Math.hypot(...p.right) - Math.hypot(...p.down)) < 1e-9);
    assert.equal(rgb.width, panels.reduce((sum, p) => sum + p.width, 0) + 8);
  });

  it('gives a 9-slice cardiac stack panels in proportion, not a strip', () => {
    // ACDC-like: 216 x 216 x 9 at 1.5 x 1.5 x 10 mm, a body filling the field
    const dims: Vec3 = [216, 216, 9];
    const image = constantVolume(dims, centredAffine(IDENTITY, [1.5, 1.5, 10], dims), 300, 'MR');
    for (let n = 0; n < image.data.length; n += 7) image.data[n] = 0;
    const labels = ballLabels(image, [0, 0, 0], 25);
    const { panels, image: rgb } = renderPreviewImage(image, labels, RED_TABLE);
    assert.equal(panels[0].width, 360, 'the short-axis (axial) view gets the full panel size');
    assert.equal(panels[1].height, 100, '90 mm of stack on the same scale');
    assert.ok(rgb.width <= 3 * 360 + 8, `${rgb.width} px wide`);
  });

  it('crops to the body and the labels, with a 10 mm margin', () => {
    const dims: Vec3 = [100, 100, 40];
    const image = constantVolume(dims, centredAffine(IDENTITY, [2, 2, 2], dims), -1000);
    // a 40 x 40 x 40 mm body in the middle of 200 x 200 x 80 mm of air
    for (let k = 10; k < 30; k++)
      for (let j = 40; j < 60; j++) for (let i = 40; i < 60; i++) image.data[i + 100 * (j + 100 * k)] = 40;
    const labels = ballLabels(image, [0, 0, 0], 6);
    const { panels } = renderPreviewImage(image, labels, RED_TABLE);
    const axial = panels[0];
    const extent = axial.width * axial.mmPerPixel;
    assert.ok(Math.abs(extent - 60) < 2, `axial shows ${extent} mm across: the 40 mm body + 2 x 10 mm`);
    const whole = renderPreviewImage(image, labels, RED_TABLE, { cropToBody: false }).panels[0];
    assert.ok(Math.abs(whole.width * whole.mmPerPixel - 200) < 2);
  });
});

describe('preview: legend, letters and planes', () => {
  const dims: Vec3 = [60, 60, 30];
  const twoBalls = (image: Volume) => {
    // a big ball and a small one that no plane through the big one's centre touches
    const big = ballLabels(image, [10, 10, 10], 12);
    const small = ballLabels(image, [-25, -25, -20], 4);
    const data = new Uint8Array(big.data.length);
    for (let n = 0; n < data.length; n++) data[n] = big.data[n] ? 1 : small.data[n] ? 2 : 0;
    return { ...big, data };
  };
  const table = makeLabelTable([
    { value: 1, name: 'Liver', id: 'liver', color: [255, 0, 0] },
    { value: 2, name: 'Left kidney', id: 'kidney_left', color: [0, 0, 255] },
  ]);

  it('places the planes so that every structure shows in one of them', () => {
    const image = constantVolume(dims, centredAffine(IDENTITY, [2, 2, 2], dims), 40);
    const labels = twoBalls(image);
    const render = renderPreviewImage(image, labels, table);
    const shown = new Set(render.panels.flatMap((p) => p.labels));
    assert.deepEqual([...shown].sort(), [1, 2]);
    assert.ok(render.legend.every((entry) => entry.shown));
    // through the big ball's centre alone, the small one was missed
    const centred = renderPreviewImage(image, labels, table, { centre: [34.5, 34.5, 19.5] });
    assert.deepEqual([...new Set(centred.panels.flatMap((p) => p.labels))], [1]);
    assert.equal(centred.legend.find((e) => e.value === 2)?.shown, false);
  });

  it('lists each structure with its colour and volume below the panels', () => {
    const image = constantVolume(dims, centredAffine(IDENTITY, [2, 2, 2], dims), 40);
    const labels = twoBalls(image);
    const render = renderPreviewImage(image, labels, table);
    const count = (value: number) => labels.data.reduce((n, v) => n + (v === value ? 1 : 0), 0);
    assert.deepEqual(
      render.legend.map((e) => [e.name, Number(e.volumeMl.toFixed(3))]),
      [
        ['Liver', Number(((count(1) * 8) / 1000).toFixed(3))],
        ['Left kidney', Number(((count(2) * 8) / 1000).toFixed(3))],
      ],
    );
    // a swatch of each colour below the panels
    const png = decodePng(renderPreview(image, labels, table));
    const below = Math.max(...render.panels.map((p) => p.y + p.height));
    for (const colour of [
      [255, 0, 0],
      [0, 0, 255],
    ]) {
      let found = 0;
      for (let y = below; y < png.height; y++)
        for (let x = 0; x < png.width; x++) if (pixelAt(png, x, y).every((c, n) => c === colour[n])) found++;
      assert.ok(found >= 14 * 14, `swatch of ${colour}: ${found} pixels`);
    }
    // the volume a results folder gives (the whole mask) is what the legend says
    const withAnswer = makeLabelTable([
      {
        ...table.labels[0],
        answer: {
          label_voxels: 1,
          label_volume_ml: 0.008,
          mask_voxels: 2,
          mask_volume_ml: 123.4,
          mask_in_other_labels: [],
          note: '',
        },
      },
      table.labels[1],
    ]);
    assert.equal(renderPreviewImage(image, labels, withAnswer).legend[0].volumeMl, 123.4);
    // a whole with no voxel of its own label says which labels draw it
    const union = makeLabelTable([
      {
        value: 3,
        name: 'Kidney',
        id: 'kidney',
        color: [0, 200, 0],
        answer: {
          label_voxels: 0,
          label_volume_ml: 0,
          mask_voxels: 5,
          mask_volume_ml: 0.04,
          mask_in_other_labels: [{ value: 2, name: 'Left kidney', voxels: 5, volume_ml: 0.04 }],
          note: '',
        },
      },
      ...table.labels,
    ]);
    const kidney = renderPreviewImage(image, labels, union).legend.find((e) => e.value === 3);
    assert.deepEqual(kidney?.drawnAs, ['Left kidney']);
  });

  it('reads the label map alike in every voxel type and memory alignment', () => {
    // the census skips background a 4-byte word at a time where the rows allow it, voxel by voxel elsewhere
    const image = constantVolume(dims, centredAffine(IDENTITY, [2, 2, 2], dims), 40);
    const labels = twoBalls(image);
    const reference = renderPreviewImage(image, labels, table);
    const offByOne = new Uint8Array(labels.data.length + 1).subarray(1);
    offByOne.set(labels.data);
    const copies = [Uint16Array, Int32Array, Float32Array, Float64Array].map((type) => type.from(labels.data));
    for (const data of [offByOne, ...copies]) {
      const render = renderPreviewImage(image, { ...labels, data }, table);
      const name = `${data.constructor.name} at byte ${data.byteOffset}`;
      assert.deepEqual(render.centre, reference.centre, name);
      assert.deepEqual(render.legend, reference.legend, name);
      assert.deepEqual(render.panels, reference.panels, name);
      assert.ok(Buffer.from(render.image.pixels).equals(Buffer.from(reference.image.pixels)), name);
    }
  });

  it('writes the patient directions on the edges of each panel', () => {
    assert.deepEqual(ORIENTATION_LETTERS.axial, { left: 'R', right: 'L', top: 'A', bottom: 'P' });
    assert.deepEqual(ORIENTATION_LETTERS.sagittal, { left: 'A', right: 'P', top: 'S', bottom: 'I' });
    const image = constantVolume(dims, centredAffine(IDENTITY, [2, 2, 2], dims), 40);
    const render = renderPreviewImage(image, constantVolume(dims, image.affine, 0), RED_TABLE);
    const axial = render.panels[0];
    // letters are yellow on the grey tissue near the middle of each edge
    const yellow = (x0: number, y0: number, w: number, h: number) => {
      let n = 0;
      for (let y = y0; y < y0 + h; y++)
        for (let x = x0; x < x0 + w; x++) {
          const at = (y * render.image.width + x) * 3;
          if (render.image.pixels[at] === 255 && render.image.pixels[at + 1] === 230) n++;
        }
      return n;
    };
    const midY = axial.y + axial.height / 2 - 10;
    assert.ok(yellow(axial.x, midY, 16, 20) > 10, 'R on the left edge');
    assert.ok(yellow(axial.x + axial.width - 16, midY, 16, 20) > 10, 'L on the right edge');
    assert.ok(yellow(axial.x + axial.width / 2 - 10, axial.y, 20, 18) > 10, 'A at the top');
    assert.equal(yellow(axial.x + 30, axial.y + 30, 40, 40), 0, 'nothing drawn over the image inside');
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
    // (the first pixels of the row hold the orientation letter R in yellow)
    const firstRed = colours.findIndex((c) => c[0] > 128 + 10 && c[1] < 100);
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
  it('passes through the labels, or the volume centre when nothing is labelled', () => {
    const dims: Vec3 = [30, 20, 10];
    const image = constantVolume(dims, centredAffine(IDENTITY, [1, 1, 1], dims), 40);
    const labels = constantVolume(dims, image.affine, 0);
    assert.deepEqual(renderPreviewImage(image, labels, RED_TABLE).centre, [14.5, 9.5, 4.5]);
    const data = labels.data;
    for (let i = 2; i <= 4; i++) data[i + 30 * (3 + 20 * 5)] = 2; // three voxels of label 2
    const centre = renderPreviewImage(image, labels, RED_TABLE).centre.map((v) => Number(v.toFixed(6)));
    assert.deepEqual(centre, [3, 3, 5]);
    assert.deepEqual(
      renderPreviewImage(image, labels, RED_TABLE, { centre: [1, 2, 3] }).centre.map((v) => Number(v.toFixed(6))),
      [1, 2, 3],
    );
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
