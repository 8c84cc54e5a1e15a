/**
 * Synthetic DICOM series for tests (never real patient data): a CT-like volume with known geometry
 * and known HU values, written with dcmjs in a chosen orientation, spacing, transfer syntax and
 * pixel representation, with file order shuffled so that nothing can rely on it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import type { Vec3 } from '../../../src/core/affine.js';
import { encodeDicomFile } from '../../../src/io/dicom/dcmjs.js';
import type { WritableDataset } from '../../../src/io/dicom/dcmjs.js';

export type OrientationName = 'axial' | 'sagittal' | 'coronal' | 'oblique';
/** 'mpeg2' writes the native samples in MPEG-2's encapsulation: only for unsupported-syntax errors. */
export type SyntaxName = 'explicit-le' | 'implicit-le' | 'explicit-be' | 'rle' | 'mpeg2';

const SYNTAX_UIDS: Record<SyntaxName, string> = {
  'explicit-le': '1.2.840.10008.1.2.1',
  'implicit-le': '1.2.840.10008.1.2',
  'explicit-be': '1.2.840.10008.1.2.2',
  rle: '1.2.840.10008.1.2.5',
  mpeg2: '1.2.840.10008.1.2.4.100',
};

/** Row cosine then column cosine (LPS), as ImageOrientationPatient. */
export const ORIENTATIONS: Record<OrientationName, number[]> = {
  axial: [1, 0, 0, 0, 1, 0],
  sagittal: [0, 1, 0, 0, 0, -1],
  coronal: [1, 0, 0, 0, 0, -1],
  // Rotated 30 degrees about z, then tilted 20 degrees about the new row axis.
  oblique: obliqueCosines(30, 20),
};

export interface SeriesSpec {
  columns?: number;
  rows?: number;
  slices?: number;
  orientation?: OrientationName | number[];
  /** PixelSpacing: [distance between rows, distance between columns]. */
  pixelSpacing?: [number, number];
  sliceSpacing?: number;
  /**
   * Offset from slice to slice (LPS mm) in place of sliceSpacing along the normal: off the normal, it
   * makes a gantry-tilted stack.
   */
  step?: Vec3;
  /** Position of the first slice (lowest along the normal), LPS mm. */
  origin?: Vec3;
  /** Number the instances from the far end of the stack (InstanceNumber 1 = highest slice). */
  reverseInstanceOrder?: boolean;
  /** Added to every InstanceNumber (a later time point of a cine series numbers on from the first). */
  instanceNumberOffset?: number;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  signed?: boolean;
  bitsAllocated?: 8 | 16 | 32;
  bitsStored?: number;
  photometric?: 'MONOCHROME1' | 'MONOCHROME2';
  syntax?: SyntaxName;
  /** Write all slices as one enhanced multi-frame file. */
  multiFrame?: boolean;
  modality?: string;
  description?: string;
  /** '' writes the series without a SeriesInstanceUID (as anonymisers leave some). */
  seriesUid?: string;
  studyUid?: string;
  seriesNumber?: number;
  /** Give file names a .dcm extension (default) or none. */
  extension?: boolean;
  /** Slice indices (k) not to write, to make a gap. */
  omit?: number[];
  /** Added to the HU pattern (to push values beyond int16). */
  valueOffset?: number;
  /** Amplitude of a fixed pseudo-random texture added to the pattern (so that lossy codecs lose something). */
  noise?: number;
  /** Seed for the file-name shuffle. */
  seed?: number;
  /** HU at (i, j, k) in place of the pattern (an anatomical phantom for benchmarks); noise and offset still apply. */
  voxel?: (i: number, j: number, k: number) => number;
  /** Sub-folder of the target folder to write into. */
  subfolder?: string;
}

export interface GeneratedSeries {
  folder: string;
  /** Written file paths in k order (slice 0 first). */
  files: string[];
  seriesUid: string;
  studyUid: string;
  sopInstanceUids: string[];
  dims: [number, number, number];
  /** The RAS affine the reader must produce, built from the parameters. */
  expectedAffine: number[];
  /** Expected voxel values (HU as stored then rescaled), i fastest, k slowest. */
  expectedValues: Float64Array;
}

let uidCounter = 0;
export function newUid(): string {
  uidCounter += 1;
  return `2.25.${Date.now()}${process.pid}${uidCounter}`.slice(0, 64);
}

/** The HU value of voxel (i, j, k): a pattern that tells every axis and direction apart. */
export function huPattern(i: number, j: number, k: number): number {
  return ((i * 7 + j * 31 + k * 211) % 1900) - 1000;
}

export async function writeSeries(folder: string, spec: SeriesSpec = {}): Promise<GeneratedSeries> {
  const s = withDefaults(spec);
  const target = s.subfolder ? join(folder, s.subfolder) : folder;
  await mkdir(target, { recursive: true });
  const [row, column] = [s.cosines.slice(0, 3) as Vec3, s.cosines.slice(3, 6) as Vec3];
  const normal = cross(row, column);
  const studyUid = s.studyUid;
  const kept = range(s.slices).filter((k) => !s.omit.includes(k));
  const sopInstanceUids = kept.map(() => newUid());
  const names = shuffledNames(kept.length, s.seed, s.extension);
  const step = s.step ?? scale(normal, s.sliceSpacing);
  const position = (k: number): Vec3 => add(s.origin, scale(step, k));
  const files: string[] = [];
  if (s.multiFrame) {
    const path = join(target, `enhanced${s.extension ? '.dcm' : ''}`);
    await writeFile(
      path,
      encodeDicomFile(multiFrameDataset(s, kept, position, sopInstanceUids[0]), {
        transferSyntaxUid: SYNTAX_UIDS[s.syntax],
      }),
    );
    files.push(...kept.map(() => path));
  } else {
    for (const [n, k] of kept.entries()) {
      const path = join(target, names[n]);
      const instanceNumber = (s.reverseInstanceOrder ? s.slices - k : k + 1) + s.instanceNumberOffset;
      const dataset = singleFrameDataset(s, k, position(k), sopInstanceUids[n], instanceNumber);
      await writeFile(path, encodeDicomFile(dataset, { transferSyntaxUid: SYNTAX_UIDS[s.syntax] }));
      files.push(path);
    }
  }
  return {
    folder: target,
    files,
    seriesUid: s.seriesUid,
    studyUid,
    sopInstanceUids: s.multiFrame ? kept.map(() => sopInstanceUids[0]) : sopInstanceUids,
    dims: [s.columns, s.rows, kept.length],
    expectedAffine: expectedRasAffine(row, column, step, s),
    expectedValues: expectedValues(s, kept),
  };
}

type Resolved = Required<Omit<SeriesSpec, 'orientation' | 'subfolder' | 'bitsStored' | 'voxel' | 'step'>> & {
  step?: Vec3;
  cosines: number[];
  voxel: (i: number, j: number, k: number) => number;
  bitsStored: number;
  subfolder?: string;
};

function withDefaults(spec: SeriesSpec): Resolved {
  const orientation = spec.orientation ?? 'axial';
  const bitsAllocated = spec.bitsAllocated ?? 16;
  return {
    columns: 6,
    rows: 5,
    slices: 4,
    pixelSpacing: [0.75, 0.5],
    sliceSpacing: 2.5,
    origin: [-120.5, -98.25, 40],
    reverseInstanceOrder: false,
    instanceNumberOffset: 0,
    rescaleSlope: 1,
    rescaleIntercept: -1024,
    signed: false,
    bitsAllocated,
    photometric: 'MONOCHROME2',
    syntax: 'explicit-le',
    multiFrame: false,
    modality: 'CT',
    description: 'synthetic CT',
    seriesUid: newUid(),
    studyUid: newUid(),
    seriesNumber: 3,
    extension: true,
    omit: [],
    seed: 7,
    valueOffset: 0,
    noise: 0,
    ...spec,
    voxel: spec.voxel ?? huPattern,
    cosines: typeof orientation === 'string' ? ORIENTATIONS[orientation] : orientation,
    bitsStored: spec.bitsStored ?? bitsAllocated,
  };
}

/** LPS columns (row * column spacing, column * row spacing, the slice-to-slice step), then to RAS. */
function expectedRasAffine(row: Vec3, column: Vec3, step: Vec3, s: Resolved): number[] {
  const i = scale(row, s.pixelSpacing[1]);
  const j = scale(column, s.pixelSpacing[0]);
  const k = step;
  const o = s.origin;
  const ras = (axis: number, sign: number) => [sign * i[axis], sign * j[axis], sign * k[axis], sign * o[axis]];
  return [...ras(0, -1), ...ras(1, -1), ...ras(2, 1), 0, 0, 0, 1];
}

function expectedValues(s: Resolved, kept: number[]): Float64Array {
  const out = new Float64Array(s.columns * s.rows * kept.length);
  let at = 0;
  for (const k of kept) {
    for (let j = 0; j < s.rows; j++) {
      for (let i = 0; i < s.columns; i++)
        out[at++] = representable(patternAt(i, j, k, s), s) * s.rescaleSlope + s.rescaleIntercept;
    }
  }
  return out;
}

/** The HU value written at (i, j, k): the pattern, shifted, plus the texture if any. */
function patternAt(i: number, j: number, k: number, s: Resolved): number {
  if (s.noise === 0) return s.voxel(i, j, k) + s.valueOffset;
  // A small multiplicative hash: fixed for a given voxel, so expected values can be recomputed.
  const hash = (Math.imul(i * 73856093 + j * 19349663 + k * 83492791, 2654435761) >>> 0) / 2 ** 32;
  return s.voxel(i, j, k) + s.valueOffset + Math.round((hash - 0.5) * 2 * s.noise);
}

/** The stored value nearest to a HU value (before any MONOCHROME1 inversion). */
function representable(hu: number, s: Resolved): number {
  return Math.round((hu - s.rescaleIntercept) / s.rescaleSlope);
}

/** Stored value for a HU value: inverse rescale, then MONOCHROME1 inversion (GDCM's convention). */
function storedValue(hu: number, s: Resolved): number {
  const value = representable(hu, s);
  if (s.photometric !== 'MONOCHROME1') return value;
  return s.signed ? -1 - value : 2 ** s.bitsStored - 1 - value;
}

function sliceSamples(s: Resolved, k: number): ArrayBuffer {
  const count = s.columns * s.rows;
  const bytes = new ArrayBuffer(count * (s.bitsAllocated / 8));
  const view = new DataView(bytes);
  const littleEndian = s.syntax !== 'explicit-be';
  for (let j = 0; j < s.rows; j++) {
    for (let i = 0; i < s.columns; i++) {
      const index = i + s.columns * j;
      const value = storedValue(patternAt(i, j, k, s), s);
      if (s.bitsAllocated === 8) view.setUint8(index, value & 0xff);
      else if (s.bitsAllocated === 16) view.setUint16(index * 2, value & 0xffff, littleEndian);
      else view.setUint32(index * 4, value >>> 0, littleEndian);
    }
  }
  return s.syntax === 'rle' ? encodeRle(new Uint8Array(bytes), s.bitsAllocated / 8) : bytes;
}

function commonAttributes(s: Resolved): WritableDataset {
  return {
    SOPClassUID: s.multiFrame ? '1.2.840.10008.5.1.4.1.1.2.1' : '1.2.840.10008.5.1.4.1.1.2',
    StudyInstanceUID: s.studyUid,
    ...(s.seriesUid ? { SeriesInstanceUID: s.seriesUid } : {}),
    FrameOfReferenceUID: `${s.studyUid}.1`.slice(0, 64),
    Modality: s.modality,
    SeriesDescription: s.description,
    SeriesNumber: String(s.seriesNumber),
    PatientID: 'SYNTHETIC-001',
    PatientName: 'Synthetic^Phantom',
    StudyDate: '20240102',
    Rows: s.rows,
    Columns: s.columns,
    SamplesPerPixel: 1,
    PhotometricInterpretation: s.photometric,
    BitsAllocated: s.bitsAllocated,
    BitsStored: s.bitsStored,
    HighBit: s.bitsStored - 1,
    PixelRepresentation: s.signed ? 1 : 0,
    _vrMap: { PixelData: s.bitsAllocated === 8 ? 'OB' : 'OW' },
  };
}

function singleFrameDataset(
  s: Resolved,
  k: number,
  position: Vec3,
  sopInstanceUid: string,
  instanceNumber: number,
): WritableDataset {
  return {
    ...commonAttributes(s),
    SOPInstanceUID: sopInstanceUid,
    InstanceNumber: String(instanceNumber),
    ImagePositionPatient: position.map(ds),
    ImageOrientationPatient: s.cosines.map(ds),
    PixelSpacing: s.pixelSpacing.map(ds),
    SliceThickness: ds(s.sliceSpacing),
    RescaleSlope: ds(s.rescaleSlope),
    RescaleIntercept: ds(s.rescaleIntercept),
    PixelData: [sliceSamples(s, k)],
  };
}

function multiFrameDataset(
  s: Resolved,
  kept: number[],
  position: (k: number) => Vec3,
  sopInstanceUid: string,
): WritableDataset {
  // Frames are written in reverse stack order so that the reader must sort them.
  const frameOrder = [...kept].reverse();
  const frames = frameOrder.map((k) => new Uint8Array(sliceSamples(s, k)));
  const pixels = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  frames.forEach((frame, n) => pixels.set(frame, n * frame.length));
  return {
    ...commonAttributes(s),
    SOPInstanceUID: sopInstanceUid,
    InstanceNumber: '1',
    NumberOfFrames: String(kept.length),
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [{ PixelSpacing: s.pixelSpacing.map(ds), SliceThickness: ds(s.sliceSpacing) }],
        PlaneOrientationSequence: [{ ImageOrientationPatient: s.cosines.map(ds) }],
        PixelValueTransformationSequence: [
          { RescaleSlope: ds(s.rescaleSlope), RescaleIntercept: ds(s.rescaleIntercept), RescaleType: 'HU' },
        ],
      },
    ],
    PerFrameFunctionalGroupsSequence: frameOrder.map((k) => ({
      PlanePositionSequence: [{ ImagePositionPatient: position(k).map(ds) }],
    })),
    // Native frames are one value back to back; encapsulated ones are one item each.
    PixelData: s.syntax === 'rle' ? frames.map((frame) => frame.slice().buffer) : [pixels.buffer],
  };
}

/** RLE Lossless (PS3.5 Annex G): one PackBits segment per sample byte, most significant first. */
export function encodeRle(littleEndianSamples: Uint8Array, bytesPerSample: number): ArrayBuffer {
  const pixelCount = littleEndianSamples.length / bytesPerSample;
  const segments = range(bytesPerSample).map((segment) => {
    const plane = new Uint8Array(pixelCount);
    for (let p = 0; p < pixelCount; p++)
      plane[p] = littleEndianSamples[p * bytesPerSample + (bytesPerSample - 1 - segment)];
    return packBits(plane);
  });
  const out = new Uint8Array(64 + segments.reduce((sum, segment) => sum + segment.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, segments.length, true);
  let at = 64;
  segments.forEach((segment, n) => {
    view.setUint32(4 + 4 * n, at, true);
    out.set(segment, at);
    at += segment.length;
  });
  return out.buffer;
}

function packBits(plane: Uint8Array): Uint8Array {
  const out: number[] = [];
  let at = 0;
  while (at < plane.length) {
    let run = 1;
    while (at + run < plane.length && run < 128 && plane[at + run] === plane[at]) run++;
    if (run >= 2) {
      out.push((1 - run) & 0xff, plane[at]);
      at += run;
      continue;
    }
    let literal = 1;
    while (at + literal < plane.length && literal < 128 && plane[at + literal] !== plane[at + literal - 1]) literal++;
    out.push(literal - 1, ...plane.subarray(at, at + literal));
    at += literal;
  }
  if (out.length % 2 === 1) out.push(0x80); // pad segments to even length with a no-op
  return Uint8Array.from(out);
}

/** A DS string of at most 16 characters, as precise as that allows. */
export function ds(value: number): string {
  for (let digits = 16; digits > 0; digits--) {
    const text = String(Number(value.toPrecision(digits)));
    if (text.length <= 16) return text;
  }
  return String(Math.round(value));
}

/** Zips every file under `folder` (paths relative to it) into `zipPath`. */
export async function zipFiles(files: Record<string, Uint8Array>, zipPath: string): Promise<void> {
  await writeFile(zipPath, zipSync(files));
}

function shuffledNames(count: number, seed: number, extension: boolean): string[] {
  const names = range(count).map((n) => `IM${String(n).padStart(4, '0')}${extension ? '.dcm' : ''}`);
  let state = seed;
  for (let n = names.length - 1; n > 0; n--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const m = state % (n + 1);
    [names[n], names[m]] = [names[m], names[n]];
  }
  return names;
}

function obliqueCosines(yawDegrees: number, pitchDegrees: number): number[] {
  const a = (yawDegrees * Math.PI) / 180;
  const b = (pitchDegrees * Math.PI) / 180;
  const row: Vec3 = [Math.cos(a), Math.sin(a), 0];
  const column: Vec3 = [-Math.sin(a) * Math.cos(b), Math.cos(a) * Math.cos(b), Math.sin(b)];
  return [...row, ...column];
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function add(a: Vec3, b: Vec3): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

function scale(a: Vec3, factor: number): Vec3 {
  return [a[0] * factor, a[1] * factor, a[2] * factor];
}

export interface PerSliceCine {
  /** One series per slice position, in slice (k) order. */
  seriesUids: string[];
  studyUid: string;
  dims: [number, number, number];
  expectedAffine: number[];
  /** Expected voxel values of each time point, i fastest, k slowest. */
  expectedValues: Float64Array[];
  /** SOP instance UIDs of each time point, in k order. */
  sopInstanceUids: string[][];
}

/**
 * A cine stored as Siemens stores one: a series per slice position, each holding that position's
 * time points (InstanceNumber t + 1), time point t's values offset by 100 t.
 */
export async function writeSeriesPerSlice(
  folder: string,
  spec: SeriesSpec & { timePoints: number },
): Promise<PerSliceCine> {
  const { timePoints, ...common } = spec;
  const slices = common.slices ?? 4;
  const studyUid = common.studyUid ?? newUid();
  const seriesUids = range(slices).map(() => newUid());
  const written: GeneratedSeries[][] = range(timePoints).map(() => []);
  for (const k of range(slices)) {
    for (const t of range(timePoints)) {
      written[t].push(
        await writeSeries(folder, {
          ...common,
          slices,
          studyUid,
          seriesUid: seriesUids[k],
          omit: range(slices).filter((other) => other !== k),
          instanceNumberOffset: t - k, // InstanceNumber t + 1 within the position's series
          valueOffset: 100 * t,
          subfolder: `position${k}-time${t}`,
          seed: 11 * k + t,
        }),
      );
    }
  }
  const pixels = (common.columns ?? 6) * (common.rows ?? 5);
  return {
    seriesUids,
    studyUid,
    dims: [common.columns ?? 6, common.rows ?? 5, slices],
    expectedAffine: written[0][0].expectedAffine,
    expectedValues: written.map((perK) => {
      const values = new Float64Array(pixels * slices);
      perK.forEach((series, k) => values.set(series.expectedValues.subarray(0, pixels), k * pixels));
      return values;
    }),
    sopInstanceUids: written.map((perK) => perK.map((series) => series.sopInstanceUids[0])),
  };
}

/**
 * Writes a volume of whole numbers (HU of a real CT read from ../shared, or a phantom) as a DICOM series
 * in `folder`, one explicit-VR file per k slice, signed 16-bit with no rescale: each slice's plane and
 * position from the volume's RAS affine turned to DICOM's LPS. Reading it back gives the volume's grid
 * (k in the order of the slice normal) and voxels.
 */
export async function writeVolumeAsDicom(
  volume: { dims: readonly number[]; affine: ArrayLike<number>; data: ArrayLike<number> },
  folder: string,
  description = 'CT written as DICOM by the tests',
): Promise<string[]> {
  await mkdir(folder, { recursive: true });
  const [nx, ny, nz] = volume.dims;
  const a = volume.affine;
  // RAS column c of the 4x4 (row-major) affine, as LPS
  const lps = (c: number): Vec3 => [-a[c], -a[4 + c], a[8 + c]];
  const length = (v: Vec3) => Math.hypot(v[0], v[1], v[2]);
  const [i, j, k, origin] = [lps(0), lps(1), lps(2), lps(3)];
  const cosines = [...scale(i, 1 / length(i)), ...scale(j, 1 / length(j))];
  const studyUid = newUid();
  const shared: WritableDataset = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
    StudyInstanceUID: studyUid,
    SeriesInstanceUID: newUid(),
    FrameOfReferenceUID: `${studyUid}.1`.slice(0, 64),
    Modality: 'CT',
    SeriesDescription: description,
    SeriesNumber: '2',
    PatientID: 'TEST-001',
    PatientName: 'Test^Volume',
    StudyDate: '20240102',
    Rows: ny,
    Columns: nx,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 1,
    ImageOrientationPatient: cosines.map(ds),
    PixelSpacing: [length(j), length(i)].map(ds),
    SliceThickness: ds(length(k)),
    RescaleSlope: '1',
    RescaleIntercept: '0',
    _vrMap: { PixelData: 'OW' },
  };
  const files: string[] = [];
  for (let z = 0; z < nz; z++) {
    const slice = new Int16Array(nx * ny);
    for (let n = 0; n < slice.length; n++) slice[n] = Math.round(volume.data[z * nx * ny + n]);
    const dataset: WritableDataset = {
      ...shared,
      SOPInstanceUID: newUid(),
      InstanceNumber: String(z + 1),
      ImagePositionPatient: add(origin, scale(k, z)).map(ds),
      PixelData: [slice.buffer],
    };
    const path = join(folder, `IM${String(z).padStart(4, '0')}.dcm`);
    await writeFile(path, encodeDicomFile(dataset));
    files.push(path);
  }
  return files;
}
