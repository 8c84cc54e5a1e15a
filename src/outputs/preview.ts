/**
 * preview.png: axial, coronal and sagittal planes side by side, through the centroid of the largest
 * labelled structure, with the labels blended in their table colours and outlined.
 *
 * Display convention (there is no caption, so it is fixed here): RADIOLOGICAL.
 *   axial    - seen from the feet: patient's right on the image left, anterior up;
 *   coronal  - seen from the front: patient's right on the image left, superior up;
 *   sagittal - seen from the patient's left: anterior on the image left, superior up.
 * The planes are cut in world (RAS) space, not along voxel axes, so an LPS, RAS or oblique volume
 * shows the same anatomy the same way up. Only the three planes are sampled; the volume is never
 * copied or resampled as a whole.
 */
import type { Mat4, Vec3 } from '../core/affine.js';
import { invert4, transformPoint } from '../core/affine.js';
import type { Volume, VoxelArray } from '../core/volume.js';
import { spacingOf } from '../core/volume.js';
import type { LabelTable } from '../io/label-table.js';
import { defaultLabelColor } from '../io/label-table.js';
import type { RgbImage } from './png.js';
import { encodePng } from './png.js';

export type PlaneName = 'axial' | 'coronal' | 'sagittal';

export interface PreviewOptions {
  /** Voxel (i, j, k) the three planes pass through; default: centroid of the largest label. */
  centre?: [number, number, number];
  /** Greyscale window [low, high] in image units; default: CT soft tissue or 1st-99th percentile. */
  window?: [number, number];
  /** Height of each panel in pixels (default 256). */
  panelHeight?: number;
}

/** Where one plane landed in the preview and which world point each of its pixels shows. */
export interface PreviewPanel {
  plane: PlaneName;
  /** Top-left corner in the preview, pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
  mmPerPixel: number;
  /** World (RAS mm) position of the centre of the panel's top-left pixel. */
  origin: Vec3;
  /** World step (mm) of one pixel to the right and one pixel down. */
  right: Vec3;
  down: Vec3;
}

export interface PreviewRender {
  image: RgbImage;
  panels: PreviewPanel[];
  /** Voxel the planes pass through. */
  centre: Vec3;
  window: [number, number];
}

const CT_WINDOW: [number, number] = [-160, 240];
const LABEL_ALPHA = 0.5;
const PANEL_GAP = 4;
const GAP_GREY = 48;
/** A panel is at most this many times wider than tall (a 3-slice volume would otherwise be a strip). */
const MAX_ASPECT = 4;

/** preview.png bytes; see the module comment for the display convention. */
export function renderPreview(
  image: Volume,
  labels: Volume,
  table: LabelTable,
  options: PreviewOptions = {},
): Uint8Array {
  return encodePng(renderPreviewImage(image, labels, table, options).image);
}

/** The preview as pixels, with the placement and world geometry of each panel (for tests and callers). */
export function renderPreviewImage(
  image: Volume,
  labels: Volume,
  table: LabelTable,
  options: PreviewOptions = {},
): PreviewRender {
  checkSameGrid(image, labels);
  const affine = displayAffine(image);
  const centre = options.centre ?? largestLabelCentroid(labels) ?? volumeCentre(image);
  const window = options.window ?? defaultWindow(image);
  const centreWorld = transformPoint(affine, centre);
  const bounds = worldBounds(affine, image.dims);
  const panelHeight = options.panelHeight ?? 256;
  const colours = new LabelColours(table);
  const planes: PlaneName[] = ['axial', 'coronal', 'sagittal'];
  const rendered = planes.map((plane) => {
    const geometry = planeGeometry(plane, centreWorld, bounds, panelHeight);
    const samples = samplePlane(image, labels, invert4(affine), geometry);
    return { geometry, pixels: paintPanel(samples, geometry, window, colours) };
  });
  return { ...compose(rendered), centre: [...centre] as Vec3, window: [...window] as [number, number] };
}

function checkSameGrid(image: Volume, labels: Volume): void {
  const same =
    image.dims.every((n, axis) => n === labels.dims[axis]) &&
    image.affine.every((v, i) => Math.abs(v - labels.affine[i]) < 1e-4);
  if (!same)
    throw new Error(
      `the label map (${labels.dims.join('x')}) is not on the image's grid (${image.dims.join('x')}); resample it first`,
    );
}

/**
 * The affine with each column rescaled to the voxel size the file states (spacingOf). For most
 * files this is the affine itself; for files whose affine is unit-scaled while the header holds the
 * real voxel size, it gives the panels their true proportions.
 */
function displayAffine(volume: Volume): number[] {
  const spacing = spacingOf(volume);
  const a = volume.affine;
  const out = [...a];
  for (let c = 0; c < 3; c++) {
    const length = Math.hypot(a[c], a[4 + c], a[8 + c]);
    const factor = length > 0 ? spacing[c] / length : 1;
    for (let r = 0; r < 3; r++) out[r * 4 + c] = a[r * 4 + c] * factor;
  }
  return out;
}

function volumeCentre(volume: Volume): Vec3 {
  return [(volume.dims[0] - 1) / 2, (volume.dims[1] - 1) / 2, (volume.dims[2] - 1) / 2];
}

/**
 * Centroid (voxel) of the label value with the most voxels, or undefined when nothing is labelled.
 * One pass over the label map; accumulators are indexed by value, which label maps keep small.
 */
export function largestLabelCentroid(labels: Volume): Vec3 | undefined {
  const [nx, ny, nz] = labels.dims;
  const data = labels.data;
  const size = maxLabelValue(data) + 1;
  const count = new Float64Array(size);
  const sumI = new Float64Array(size);
  const sumJ = new Float64Array(size);
  const sumK = new Float64Array(size);
  let at = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, at++) {
        const value = data[at];
        if (value > 0 && value < size && value === Math.floor(value)) {
          count[value]++;
          sumI[value] += i;
          sumJ[value] += j;
          sumK[value] += k;
        }
      }
    }
  }
  let best = 0;
  for (let value = 1; value < size; value++) if (count[value] > count[best]) best = value;
  if (best === 0) return undefined;
  return [sumI[best] / count[best], sumJ[best] / count[best], sumK[best] / count[best]];
}

/** Largest label value the accumulators must hold: the type's range for 8/16-bit maps, else 65535. */
function maxLabelValue(data: VoxelArray): number {
  if (data instanceof Uint8Array || data instanceof Int8Array) return 255;
  return 65535;
}

/**
 * CT soft-tissue window for CT (by modality, or by values that look like HU); otherwise the
 * 1st-99th percentile of an evenly strided sample, so one bright voxel cannot wash out the image.
 */
export function defaultWindow(volume: Volume): [number, number] {
  if (volume.meta.modality === 'CT') return [...CT_WINDOW];
  const sample = strideSample(volume.data, 200_000);
  if (sample.length === 0) return [0, 1];
  if (looksLikeHu(sample)) return [...CT_WINDOW];
  const low = sample[Math.floor(0.01 * (sample.length - 1))];
  const high = sample[Math.floor(0.99 * (sample.length - 1))];
  return high > low ? [low, high] : [low, low + 1];
}

/** Sorted finite values from about `target` evenly spaced voxels. */
function strideSample(data: VoxelArray, target: number): Float64Array {
  const stride = Math.max(1, Math.floor(data.length / target));
  const values: number[] = [];
  for (let at = 0; at < data.length; at += stride) {
    const v = data[at];
    if (Number.isFinite(v)) values.push(v);
  }
  return Float64Array.from(values).sort();
}

/** Air at about -1000 in a good share of voxels and nothing far beyond bone: Hounsfield units. */
function looksLikeHu(sorted: Float64Array): boolean {
  let air = 0;
  for (const v of sorted) if (v >= -1100 && v <= -900) air++;
  const p99 = sorted[Math.floor(0.99 * (sorted.length - 1))];
  return air / sorted.length >= 0.05 && p99 < 4000;
}

interface Bounds {
  min: Vec3;
  max: Vec3;
}

/** World bounding box of the voxel grid's outer faces (voxel centres +- half a voxel). */
function worldBounds(affine: Mat4, dims: readonly number[]): Bounds {
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (let corner = 0; corner < 8; corner++) {
    const voxel = [0, 1, 2].map((axis) => ((corner >> axis) & 1 ? dims[axis] - 0.5 : -0.5));
    const world = transformPoint(affine, voxel);
    for (let axis = 0; axis < 3; axis++) {
      min[axis] = Math.min(min[axis], world[axis]);
      max[axis] = Math.max(max[axis], world[axis]);
    }
  }
  return { min, max };
}

/** World axes shown across and down each plane; both run from the + end (R, A, S) to the - end. */
const PLANE_AXES: Record<PlaneName, { across: number; down: number; fixed: number }> = {
  // Across from R to L is the radiological convention; down from A to P and from S to I.
  axial: { across: 0, down: 1, fixed: 2 },
  coronal: { across: 0, down: 2, fixed: 1 },
  // Across from A to P: anterior on the image left (seen from the patient's left).
  sagittal: { across: 1, down: 2, fixed: 0 },
};

interface PlaneGeometry {
  plane: PlaneName;
  width: number;
  height: number;
  mmPerPixel: number;
  origin: Vec3;
  right: Vec3;
  down: Vec3;
}

/** Pixel grid of one plane: square pixels covering the volume's world extent on the plane's axes. */
function planeGeometry(plane: PlaneName, centreWorld: Vec3, bounds: Bounds, panelHeight: number): PlaneGeometry {
  const axes = PLANE_AXES[plane];
  const extentAcross = bounds.max[axes.across] - bounds.min[axes.across];
  const extentDown = bounds.max[axes.down] - bounds.min[axes.down];
  let height = panelHeight;
  let mmPerPixel = extentDown / height;
  let width = Math.max(1, Math.round(extentAcross / mmPerPixel));
  if (width > MAX_ASPECT * panelHeight) {
    width = MAX_ASPECT * panelHeight;
    mmPerPixel = extentAcross / width;
    height = Math.max(1, Math.round(extentDown / mmPerPixel));
  }
  const right: Vec3 = [0, 0, 0];
  const down: Vec3 = [0, 0, 0];
  right[axes.across] = -mmPerPixel;
  down[axes.down] = -mmPerPixel;
  const origin: Vec3 = [0, 0, 0];
  origin[axes.fixed] = centreWorld[axes.fixed];
  origin[axes.across] = bounds.max[axes.across] - mmPerPixel / 2;
  origin[axes.down] = bounds.max[axes.down] - mmPerPixel / 2;
  return { plane, width, height, mmPerPixel, origin, right, down };
}

interface PlaneSamples {
  /** Image value per pixel (trilinear), NaN outside the volume. */
  values: Float32Array;
  /** Label value per pixel (nearest voxel), 0 outside the volume. */
  labels: Int32Array;
}

/**
 * Samples the image (trilinear, smooth when a panel magnifies thick slices) and the labels (nearest
 * voxel, so every coloured pixel is a voxel's true label) along one plane. Voxel coordinates are
 * linear in the pixel position, so each pixel costs a few additions before the lookups.
 */
function samplePlane(image: Volume, labels: Volume, worldToVoxel: Mat4, g: PlaneGeometry): PlaneSamples {
  const [nx, ny, nz] = image.dims;
  const start = transformPoint(worldToVoxel, g.origin);
  const stepRight = linearPart(worldToVoxel, g.right);
  const stepDown = linearPart(worldToVoxel, g.down);
  const values = new Float32Array(g.width * g.height).fill(NaN);
  const labelValues = new Int32Array(g.width * g.height);
  const imageData = image.data;
  const labelData = labels.data;
  for (let v = 0; v < g.height; v++) {
    for (let u = 0; u < g.width; u++) {
      const fi = start[0] + u * stepRight[0] + v * stepDown[0];
      const fj = start[1] + u * stepRight[1] + v * stepDown[1];
      const fk = start[2] + u * stepRight[2] + v * stepDown[2];
      const i = Math.floor(fi + 0.5);
      const j = Math.floor(fj + 0.5);
      const k = Math.floor(fk + 0.5);
      if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) continue;
      const pixel = u + g.width * v;
      labelValues[pixel] = labelData[i + nx * (j + ny * k)];
      values[pixel] = trilinear(imageData, image.dims, fi, fj, fk);
    }
  }
  return { values, labels: labelValues };
}

function linearPart(m: Mat4, direction: Vec3): Vec3 {
  return [0, 1, 2].map(
    (r) => m[r * 4] * direction[0] + m[r * 4 + 1] * direction[1] + m[r * 4 + 2] * direction[2],
  ) as Vec3;
}

/** Trilinear interpolation, clamping at the grid's edge (the half voxel outside the last centres). */
function trilinear(data: VoxelArray, dims: readonly number[], fi: number, fj: number, fk: number): number {
  const [nx, ny, nz] = dims;
  const ci = Math.min(Math.max(fi, 0), nx - 1);
  const cj = Math.min(Math.max(fj, 0), ny - 1);
  const ck = Math.min(Math.max(fk, 0), nz - 1);
  const i0 = Math.floor(ci);
  const j0 = Math.floor(cj);
  const k0 = Math.floor(ck);
  const i1 = Math.min(i0 + 1, nx - 1);
  const j1 = Math.min(j0 + 1, ny - 1);
  const k1 = Math.min(k0 + 1, nz - 1);
  const [di, dj, dk] = [ci - i0, cj - j0, ck - k0];
  const at = (i: number, j: number, k: number) => data[i + nx * (j + ny * k)];
  const row = (j: number, k: number) => at(i0, j, k) * (1 - di) + at(i1, j, k) * di;
  const plane = (k: number) => row(j0, k) * (1 - dj) + row(j1, k) * dj;
  return plane(k0) * (1 - dk) + plane(k1) * dk;
}

/** Colour of each label value: the table's, or medparse's default colour for values it lacks. */
class LabelColours {
  private readonly colours = new Map<number, readonly [number, number, number]>();

  constructor(table: LabelTable) {
    for (const entry of table.labels) this.colours.set(entry.value, entry.color);
  }

  of(value: number): readonly [number, number, number] {
    let colour = this.colours.get(value);
    if (!colour) {
      colour = defaultLabelColor(value);
      this.colours.set(value, colour);
    }
    return colour;
  }
}

/**
 * Greyscale through the window, labels blended at LABEL_ALPHA, and label edges (pixels with a
 * 4-neighbour of another label) drawn opaque so that small or faint structures still show.
 */
function paintPanel(
  samples: PlaneSamples,
  g: PlaneGeometry,
  window: [number, number],
  colours: LabelColours,
): Uint8Array {
  const { width, height } = g;
  const out = new Uint8Array(width * height * 3);
  const [low, high] = window;
  const range = high > low ? high - low : Infinity;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const pixel = u + width * v;
      const value = samples.values[pixel];
      const grey = Number.isNaN(value) ? 0 : Math.min(255, Math.max(0, ((value - low) * 255) / range));
      const label = samples.labels[pixel];
      const target = pixel * 3;
      if (label === 0) {
        out.fill(Math.round(grey), target, target + 3);
        continue;
      }
      const colour = colours.of(label);
      const alpha = isEdge(samples.labels, width, height, u, v) ? 1 : LABEL_ALPHA;
      for (let c = 0; c < 3; c++) out[target + c] = Math.round(grey * (1 - alpha) + colour[c] * alpha);
    }
  }
  return out;
}

function isEdge(labels: Int32Array, width: number, height: number, u: number, v: number): boolean {
  const label = labels[u + width * v];
  return (
    (u > 0 && labels[u - 1 + width * v] !== label) ||
    (u < width - 1 && labels[u + 1 + width * v] !== label) ||
    (v > 0 && labels[u + width * (v - 1)] !== label) ||
    (v < height - 1 && labels[u + width * (v + 1)] !== label)
  );
}

/** Puts the panels side by side, vertically centred, separated by a thin grey gap. */
function compose(rendered: Array<{ geometry: PlaneGeometry; pixels: Uint8Array }>): {
  image: RgbImage;
  panels: PreviewPanel[];
} {
  const height = Math.max(...rendered.map((r) => r.geometry.height));
  const width = rendered.reduce((sum, r) => sum + r.geometry.width, 0) + PANEL_GAP * (rendered.length - 1);
  const pixels = new Uint8Array(width * height * 3);
  const panels: PreviewPanel[] = [];
  let x = 0;
  for (const [n, { geometry, pixels: panel }] of rendered.entries()) {
    const y = Math.floor((height - geometry.height) / 2);
    for (let row = 0; row < geometry.height; row++) {
      pixels.set(panel.subarray(row * geometry.width * 3, (row + 1) * geometry.width * 3), ((y + row) * width + x) * 3);
    }
    const { plane, mmPerPixel, origin, right, down } = geometry;
    panels.push({ plane, x, y, width: geometry.width, height: geometry.height, mmPerPixel, origin, right, down });
    x += geometry.width;
    if (n < rendered.length - 1) {
      for (let row = 0; row < height; row++)
        pixels.fill(GAP_GREY, (row * width + x) * 3, (row * width + x + PANEL_GAP) * 3);
      x += PANEL_GAP;
    }
  }
  return { image: { width, height, pixels, channels: 3 }, panels };
}
