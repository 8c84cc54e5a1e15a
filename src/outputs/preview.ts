/**
 * preview.png: axial, coronal and sagittal planes side by side on one millimetre scale, cropped to the
 * body, each plane placed to show as many of the labelled structures as it can (together, all of them
 * where three planes can), the labels blended in their table colours and outlined; above each panel its
 * name, on its edges the patient directions, and below a legend: each structure's colour, name and volume.
 *
 * Display convention: RADIOLOGICAL.
 *   axial    - seen from the feet: patient's right on the image left, anterior up;
 *   coronal  - seen from the front: patient's right on the image left, superior up;
 *   sagittal - seen from the patient's left: anterior on the image left, superior up.
 * The planes are cut in world (RAS) space, not along voxel axes, so an LPS, RAS or oblique volume
 * shows the same anatomy the same way up. Only the three planes are sampled; the volume is never
 * copied or resampled as a whole.
 */
import type { Mat4, Vec3 } from '../core/affine.js';
import { invert4, transformPoint } from '../core/affine.js';
import { axisMapping } from '../core/orientation.js';
import type { Volume, VoxelArray } from '../core/volume.js';
import { spacingOf } from '../core/volume.js';
import type { LabelTable } from '../io/label-legend.js';
import { defaultLabelColor } from '../io/label-legend.js';
import { drawText, fillRect, textHeight, textWidth } from './bitmap-font.js';
import type { RgbImage } from './png.js';
import { encodePng } from './png.js';

export type PlaneName = 'axial' | 'coronal' | 'sagittal';

export interface PreviewOptions {
  /** Voxel (i, j, k) the three planes pass through; default: planes chosen to show every structure. */
  centre?: [number, number, number];
  /** Greyscale window [low, high] in image units; default: CT soft tissue or 1st-99th percentile. */
  window?: [number, number];
  /** Pixels across the longest side of the shown region, the same millimetre scale for all panels (default 360). */
  panelSize?: number;
  /** Crop to the body and the labels (default true); false shows the whole grid. */
  cropToBody?: boolean;
}

/** The pixel grid of one plane: its size and which world point each of its pixels shows. */
export interface PlaneGeometry {
  plane: PlaneName;
  width: number;
  height: number;
  mmPerPixel: number;
  /** World (RAS mm) position of the centre of the panel's top-left pixel. */
  origin: Vec3;
  /** World step (mm) of one pixel to the right and one pixel down. */
  right: Vec3;
  down: Vec3;
}

/** Where one plane landed in the preview, and what it shows. */
export interface PreviewPanel extends PlaneGeometry {
  /** Top-left corner in the preview, pixels. */
  x: number;
  y: number;
  /** Label values with at least one pixel on the panel. */
  labels: number[];
}

/** A legend line: a label's colour, name and volume, and whether any panel shows it. */
export interface LegendEntry {
  value: number;
  name: string;
  volumeMl: number;
  shown: boolean;
  /** Names of the labels inside it that its whole mask is drawn as, when none of it carries its own label. */
  drawnAs: string[];
}

export interface PreviewRender {
  image: RgbImage;
  panels: PreviewPanel[];
  /** Voxel the planes pass through. */
  centre: Vec3;
  window: [number, number];
  legend: LegendEntry[];
}

const CT_WINDOW: [number, number] = [-160, 240];
const LABEL_ALPHA = 0.5;
const PANEL_GAP = 4;
const GAP_GREY = 48;
const DEFAULT_PANEL_SIZE = 360;
/** Millimetres kept around the body and the labels when cropping. */
const CROP_MARGIN_MM = 10;
const TEXT_SCALE = 2;
/**
 * fflate's deflate level for preview.png: on the 512x512x134 CT bench's preview (1035x411) level 4
 * took 56 ms against level 6's 104 ms (medians of 15) for 231 KB against 216 KB.
 */
const PNG_LEVEL = 4;
const TITLE_HEIGHT = 24;
const LEGEND_ROW = 22;
const LEGEND_SWATCH = 14;
const TEXT_COLOUR: [number, number, number] = [235, 235, 235];
const LETTER_COLOUR: [number, number, number] = [255, 230, 90];

/** preview.png bytes; see the module comment for the display convention. */
export function renderPreview(
  image: Volume,
  labels: Volume,
  table: LabelTable,
  options: PreviewOptions = {},
): Uint8Array {
  return encodePng(renderPreviewImage(image, labels, table, options).image, PNG_LEVEL);
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
  const toVoxel = invert4(affine);
  const window = options.window ?? defaultWindow(image);
  const census = labelCensus(labels);
  const centreWorld = options.centre
    ? transformPoint(affine, options.centre)
    : (choosePlanes(census, labels, affine) ?? transformPoint(affine, volumeCentre(image)));
  const full = worldBounds(affine, image.dims);
  const bounds = options.cropToBody === false ? full : cropBounds(image, labelExtent(census), affine, window, full);
  const colours = new LabelColours(table);
  const planes: PlaneName[] = ['axial', 'coronal', 'sagittal'];
  const mmPerPixel =
    Math.max(...[0, 1, 2].map((a) => bounds.max[a] - bounds.min[a])) / (options.panelSize ?? DEFAULT_PANEL_SIZE);
  const rendered = planes.map((plane) => {
    const geometry = planeGeometry(plane, centreWorld, bounds, mmPerPixel);
    const samples = samplePlane(image, labels, toVoxel, geometry);
    return { geometry, shown: labelsOn(samples), pixels: paintPanel(samples, geometry, window, colours) };
  });
  const voxelMl = (Math.abs(det3(affine)) || 1) / 1000;
  const legend = table.labels.map((entry) => ({
    value: entry.value,
    name: entry.name,
    volumeMl: entry.answer?.mask_volume_ml ?? voxelCount(census, entry.value) * voxelMl,
    shown: rendered.some((r) => r.shown.includes(entry.value)),
    // a whole answered as the union of its parts has no voxel of its own label: its parts show it
    drawnAs:
      entry.answer && entry.answer.label_voxels === 0 ? entry.answer.mask_in_other_labels.map((o) => o.name) : [],
  }));
  const composed = compose(rendered, legend, colours);
  return {
    ...composed,
    centre: transformPoint(toVoxel, centreWorld),
    window: [...window] as [number, number],
    legend,
  };
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
 * Where the labels are: for each label value present, its voxel count on every slice of each voxel
 * axis (counts[axis][slice]). One pass over the label map with three increments per labelled voxel;
 * everything else the preview needs of the labels (volumes, the planes, the crop) is read from it.
 */
interface LabelCensus {
  dims: readonly number[];
  counts: Map<number, Uint32Array[]>;
  /** Largest label value counted: the type's range for 8/16-bit maps, else 65535. */
  limit: number;
}

function labelCensus(labels: Volume): LabelCensus {
  const [nx, ny, nz] = labels.dims;
  const data = labels.data;
  const limit = maxLabelValue(data);
  const counts = new Map<number, Uint32Array[]>();
  // indexed by value: a lookup per labelled voxel cheaper than the Map's
  const slots: Array<Uint32Array[] | undefined> = new Array<Uint32Array[] | undefined>(limit + 1);
  const countVoxels = (from: number, to: number, row: number, j: number, k: number) => {
    for (let at = from; at < to; at++) {
      const value = data[at];
      if (value === 0) continue;
      let slot = slots[value];
      if (slot === undefined) {
        if (!isLabelValue(value, limit)) continue;
        slot = [new Uint32Array(nx), new Uint32Array(ny), new Uint32Array(nz)];
        slots[value] = slot;
        counts.set(value, slot);
      }
      slot[0][at - row]++;
      slot[1][j]++;
      slot[2][k]++;
    }
  };
  const words = zeroTestWords(data, nx);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k);
      if (!words) {
        countVoxels(row, row + nx, row, j, k);
        continue;
      }
      // most of a label map is background: skip it a 4-byte word at a time
      const { view, voxelsPerWord } = words;
      for (let w = row / voxelsPerWord, end = (row + nx) / voxelsPerWord; w < end; w++)
        if (view[w] !== 0) countVoxels(w * voxelsPerWord, (w + 1) * voxelsPerWord, row, j, k);
    }
  }
  return { dims: labels.dims, counts, limit };
}

/**
 * The label map's bytes as 32-bit words, when every row starts and ends on a word: a word of zero bytes
 * holds only background voxels (0 in every integer type, +0 in the float ones). Undefined otherwise.
 */
function zeroTestWords(data: VoxelArray, nx: number): { view: Uint32Array; voxelsPerWord: number } | undefined {
  const bytes = data.BYTES_PER_ELEMENT;
  if (bytes > 4 || data.byteOffset % 4 !== 0 || (nx * bytes) % 4 !== 0) return undefined;
  return { view: new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4), voxelsPerWord: 4 / bytes };
}

/** Values a label map may label a voxel with; others (fractions, negatives, NaN) are left out. */
function isLabelValue(value: number, limit: number): boolean {
  return value > 0 && value <= limit && Number.isInteger(value);
}

function voxelCount(census: LabelCensus, value: number): number {
  const perSlice = census.counts.get(value)?.[2];
  return perSlice ? perSlice.reduce((a, b) => a + b, 0) : 0;
}

/** First and last slice of each voxel axis that holds a labelled voxel; undefined when none does. */
function labelExtent(census: LabelCensus): { lo: Vec3; hi: Vec3 } | undefined {
  if (census.counts.size === 0) return undefined;
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const perAxis of census.counts.values()) {
    for (let axis = 0; axis < 3; axis++) {
      const perSlice = perAxis[axis];
      const first = perSlice.findIndex((n) => n > 0);
      if (first < 0) continue;
      lo[axis] = Math.min(lo[axis], first);
      let last = perSlice.length - 1;
      while (perSlice[last] === 0) last--;
      hi[axis] = Math.max(hi[axis], last);
    }
  }
  return { lo, hi };
}

/**
 * World point whose axial, coronal and sagittal planes show the most structures: the axial plane on the
 * slice with the most label values, the coronal one on the slice with the most values the axial plane
 * missed, then the sagittal likewise (ties: more values, then more labelled voxels), each through the
 * centroid of the labelled voxels on its slice. Undefined when nothing is labelled.
 */
function choosePlanes(census: LabelCensus, labels: Volume, affine: Mat4): Vec3 | undefined {
  if (census.counts.size === 0) return undefined;
  const { worldAxis } = axisMapping(affine);
  const shown = new Set<number>();
  const point: Vec3 = [0, 0, 0];
  // world axis fixed by each plane: axial z, coronal y, sagittal x
  for (const worldFixed of [2, 1, 0]) {
    const axis = worldAxis.indexOf(worldFixed);
    const best = bestSlice(census, axis, shown);
    if (best < 0) {
      point[worldFixed] = transformPoint(
        affine,
        census.dims.map((n) => (n - 1) / 2),
      )[worldFixed];
      continue;
    }
    for (const [value, perAxis] of census.counts) if (perAxis[axis][best] > 0) shown.add(value);
    point[worldFixed] = transformPoint(affine, sliceCentroid(labels, census.limit, axis, best))[worldFixed];
  }
  return point;
}

/** The slice of `axis` best by (values not yet shown, values, voxels); of equally good ones, the middle one; -1 if none is labelled. */
function bestSlice(census: LabelCensus, axis: number, shown: ReadonlySet<number>): number {
  let bestKey = [-1, -1, -1];
  let tied: number[] = [];
  for (let slice = 0; slice < census.dims[axis]; slice++) {
    let fresh = 0;
    let present = 0;
    let total = 0;
    for (const [value, perAxis] of census.counts) {
      const n = perAxis[axis][slice];
      if (n === 0) continue;
      present++;
      total += n;
      if (!shown.has(value)) fresh++;
    }
    if (present === 0) continue;
    const order = fresh - bestKey[0] || present - bestKey[1] || total - bestKey[2];
    if (order > 0) {
      bestKey = [fresh, present, total];
      tied = [slice];
    } else if (order === 0) tied.push(slice);
  }
  return tied.length ? tied[Math.floor((tied.length - 1) / 2)] : -1;
}

/** Mean voxel index of the labelled voxels on one slice of one axis (the slice holds at least one). */
function sliceCentroid(labels: Volume, limit: number, axis: number, slice: number): Vec3 {
  const [nx, ny] = labels.dims;
  const ranges = labels.dims.map((n, a) => (a === axis ? [slice, slice + 1] : [0, n]));
  const sum: Vec3 = [0, 0, 0];
  let count = 0;
  for (let k = ranges[2][0]; k < ranges[2][1]; k++) {
    for (let j = ranges[1][0]; j < ranges[1][1]; j++) {
      for (let i = ranges[0][0]; i < ranges[0][1]; i++) {
        if (!isLabelValue(labels.data[i + nx * (j + ny * k)], limit)) continue;
        sum[0] += i;
        sum[1] += j;
        sum[2] += k;
        count++;
      }
    }
  }
  return [sum[0] / count, sum[1] / count, sum[2] / count];
}

/** Largest label value the census counts: the type's range for 8/16-bit maps, else 65535. */
function maxLabelValue(data: VoxelArray): number {
  if (data instanceof Uint8Array || data instanceof Int8Array) return 255;
  return 65535;
}

/**
 * The world box of the body and the labels, CROP_MARGIN_MM wider, within the grid: body voxels are
 * those brighter than air for CT (above -500 HU) and, for other images, those that differ from the
 * corners' value (the background) by more than 5 % of the window. Sampled on a stride, so it costs
 * about a million voxels whatever the scan.
 */
function cropBounds(
  image: Volume,
  labelled: { lo: Vec3; hi: Vec3 } | undefined,
  affine: Mat4,
  window: [number, number],
  full: Bounds,
): Bounds {
  const [nx, ny, nz] = image.dims;
  const stride = Math.max(1, Math.round(Math.cbrt((nx * ny * nz) / 1_000_000)));
  const ct = window[0] === CT_WINDOW[0] && window[1] === CT_WINDOW[1];
  const background = cornerValue(image);
  const tolerance = 0.05 * Math.abs(window[1] - window[0]);
  const isBody = (v: number) => (ct ? v > -500 : Math.abs(v - background) > tolerance);
  // every labelled voxel counts, not only those on the stride
  const lo = labelled ? [...labelled.lo] : [Infinity, Infinity, Infinity];
  const hi = labelled ? [...labelled.hi] : [-Infinity, -Infinity, -Infinity];
  for (let k = 0; k < nz; k += stride) {
    for (let j = 0; j < ny; j += stride) {
      const row = nx * (j + ny * k);
      let first = -1;
      let last = -1;
      for (let i = 0; i < nx; i += stride) {
        if (!isBody(image.data[row + i])) continue;
        if (first < 0) first = i;
        last = i;
      }
      if (first < 0) continue;
      [lo[0], lo[1], lo[2]] = [Math.min(lo[0], first), Math.min(lo[1], j), Math.min(lo[2], k)];
      [hi[0], hi[1], hi[2]] = [Math.max(hi[0], last), Math.max(hi[1], j), Math.max(hi[2], k)];
    }
  }
  if (lo[0] === Infinity) return full;
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (let corner = 0; corner < 8; corner++) {
    const voxel = [0, 1, 2].map((a) => ((corner >> a) & 1 ? hi[a] + stride - 0.5 : lo[a] - 0.5));
    const world = transformPoint(affine, voxel);
    for (let a = 0; a < 3; a++) {
      min[a] = Math.min(min[a], world[a]);
      max[a] = Math.max(max[a], world[a]);
    }
  }
  return {
    min: [0, 1, 2].map((a) => Math.max(full.min[a], min[a] - CROP_MARGIN_MM)) as Vec3,
    max: [0, 1, 2].map((a) => Math.min(full.max[a], max[a] + CROP_MARGIN_MM)) as Vec3,
  };
}

/** The median of the eight corner voxels: the background of a scan. */
function cornerValue(image: Volume): number {
  const [nx, ny, nz] = image.dims;
  const values: number[] = [];
  for (let corner = 0; corner < 8; corner++) {
    const [i, j, k] = [corner & 1 ? nx - 1 : 0, corner & 2 ? ny - 1 : 0, corner & 4 ? nz - 1 : 0];
    values.push(Number(image.data[i + nx * (j + ny * k)]));
  }
  values.sort((a, b) => a - b);
  return (values[3] + values[4]) / 2;
}

function det3(m: Mat4): number {
  return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
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

/** Pixel grid of one plane: square pixels of `mmPerPixel` covering `bounds` on the plane's axes. */
function planeGeometry(plane: PlaneName, centreWorld: Vec3, bounds: Bounds, mmPerPixel: number): PlaneGeometry {
  const axes = PLANE_AXES[plane];
  const extentAcross = bounds.max[axes.across] - bounds.min[axes.across];
  const extentDown = bounds.max[axes.down] - bounds.min[axes.down];
  const width = Math.max(1, Math.round(extentAcross / mmPerPixel));
  const height = Math.max(1, Math.round(extentDown / mmPerPixel));
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

/** The label values on a panel, ascending; neighbouring pixels mostly repeat one, so only changes are looked up. */
function labelsOn(samples: PlaneSamples): number[] {
  const values = new Set<number>();
  let previous = 0;
  for (const value of samples.labels) {
    if (value === previous) continue;
    previous = value;
    if (value !== 0) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
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
  const [di, dj, dk] = [ci - i0, cj - j0, ck - k0];
  // offsets of the next voxel along each axis, 0 on the last one (written out: this runs per pixel)
  const si = i0 + 1 < nx ? 1 : 0;
  const sj = j0 + 1 < ny ? nx : 0;
  const sk = k0 + 1 < nz ? nx * ny : 0;
  const a = i0 + nx * (j0 + ny * k0);
  const row00 = data[a] * (1 - di) + data[a + si] * di;
  const row10 = data[a + sj] * (1 - di) + data[a + sj + si] * di;
  const row01 = data[a + sk] * (1 - di) + data[a + sk + si] * di;
  const row11 = data[a + sk + sj] * (1 - di) + data[a + sk + sj + si] * di;
  const plane0 = row00 * (1 - dj) + row10 * dj;
  const plane1 = row01 * (1 - dj) + row11 * dj;
  return plane0 * (1 - dk) + plane1 * dk;
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

/** Patient directions at the left, right, top and bottom edges of each plane (radiological convention). */
export const ORIENTATION_LETTERS: Record<PlaneName, { left: string; right: string; top: string; bottom: string }> = {
  axial: { left: 'R', right: 'L', top: 'A', bottom: 'P' },
  coronal: { left: 'R', right: 'L', top: 'S', bottom: 'I' },
  sagittal: { left: 'A', right: 'P', top: 'S', bottom: 'I' },
};

/**
 * The panels side by side under their names, top-aligned and separated by a thin grey gap, with the
 * patient directions on their edges, and the legend below in as many columns as fit.
 */
function compose(
  rendered: Array<{ geometry: PlaneGeometry; shown: number[]; pixels: Uint8Array }>,
  legend: LegendEntry[],
  colours: LabelColours,
): { image: RgbImage; panels: PreviewPanel[] } {
  const texts = legend.map(legendText);
  const columnWidth = LEGEND_SWATCH + 8 + Math.max(0, ...texts.map((t) => textWidth(t, TEXT_SCALE))) + 24;
  const panelsWidth = rendered.reduce((sum, r) => sum + r.geometry.width, 0) + PANEL_GAP * (rendered.length - 1);
  const width = Math.max(panelsWidth, legend.length ? columnWidth : 0, textWidth('SAGITTAL', TEXT_SCALE) * 3);
  const panelsHeight = Math.max(...rendered.map((r) => r.geometry.height));
  const columns = Math.max(1, Math.floor(width / columnWidth));
  const legendRows = Math.ceil(legend.length / columns);
  const legendTop = TITLE_HEIGHT + panelsHeight + 8;
  const height = legendTop + legendRows * LEGEND_ROW + (legendRows ? 6 : 0);
  const image: RgbImage = { width, height, pixels: new Uint8Array(width * height * 3).fill(24), channels: 3 };
  const panels: PreviewPanel[] = [];
  let x = 0;
  for (const [n, { geometry, shown, pixels: panel }] of rendered.entries()) {
    const y = TITLE_HEIGHT;
    for (let row = 0; row < geometry.height; row++)
      image.pixels.set(
        panel.subarray(row * geometry.width * 3, (row + 1) * geometry.width * 3),
        ((y + row) * width + x) * 3,
      );
    drawText(image, geometry.plane, x + 2, Math.floor((TITLE_HEIGHT - textHeight(TEXT_SCALE)) / 2), TEXT_COLOUR, {
      scale: TEXT_SCALE,
    });
    drawLetters(image, geometry, x, y);
    panels.push({ ...geometry, x, y, labels: shown });
    x += geometry.width;
    if (n < rendered.length - 1) {
      fillRect(image, x, y, PANEL_GAP, panelsHeight, [GAP_GREY, GAP_GREY, GAP_GREY]);
      x += PANEL_GAP;
    }
  }
  legend.forEach((entry, n) => {
    const left = (n % columns) * columnWidth + 6;
    const top = legendTop + Math.floor(n / columns) * LEGEND_ROW;
    fillRect(image, left, top, LEGEND_SWATCH, LEGEND_SWATCH, colours.of(entry.value));
    drawText(image, texts[n], left + LEGEND_SWATCH + 8, top, TEXT_COLOUR, { scale: TEXT_SCALE });
  });
  return { image, panels };
}

function legendText(entry: LegendEntry): string {
  const volume = entry.volumeMl >= 10 ? entry.volumeMl.toFixed(0) : entry.volumeMl.toFixed(entry.volumeMl >= 1 ? 1 : 2);
  const where = entry.drawnAs.length
    ? ` (drawn as ${entry.drawnAs.join(' + ')})`
    : entry.shown
      ? ''
      : ' (not in these planes)';
  return `${entry.name} ${volume} mL${where}`;
}

/** R/L, A/P, S/I at the middle of each edge of a panel placed at (x, y), where the panel is big enough. */
function drawLetters(image: RgbImage, g: PlaneGeometry, x: number, y: number): void {
  const letters = ORIENTATION_LETTERS[g.plane];
  const w = textWidth('M', TEXT_SCALE);
  const h = textHeight(TEXT_SCALE);
  if (g.width < 3 * w || g.height < h + 4) return;
  const midY = y + Math.floor((g.height - h) / 2);
  const midX = x + Math.floor((g.width - w) / 2);
  const style = { scale: TEXT_SCALE, shadow: true };
  drawText(image, letters.left, x + 3, midY, LETTER_COLOUR, style);
  drawText(image, letters.right, x + g.width - w - 5, midY, LETTER_COLOUR, style);
  if (g.height >= 3 * h) {
    drawText(image, letters.top, midX, y + 3, LETTER_COLOUR, style);
    drawText(image, letters.bottom, midX, y + g.height - h - 5, LETTER_COLOUR, style);
  }
}
