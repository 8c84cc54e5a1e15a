/**
 * Reader-side check of a DICOM SEG: parse it back with dcmjs (not with the encoder's own code) and
 * compare it with the label map it should hold. Used by the tests; callers can use it to vet a SEG
 * before sending it on.
 */
import type { Vec3 } from '../core/affine.js';
import { flipRasLps, transformPoint } from '../core/affine.js';
import type { Volume } from '../core/volume.js';
import type { DicomDataset } from '../io/dicom/dcmjs.js';
import { readPart10 } from './dcmjs-part10.js';
import { SEGMENTATION_STORAGE_UID } from './dicom-seg.js';
import type { Code, SegLabelEntry, SegLabelTable } from './seg-codes.js';
import { CATEGORY_CODES, categoryOf, lateralityOf, srgbToDicomLab, typeCodeOf } from './seg-codes.js';

export interface ParsedSegment {
  number: number;
  label: string;
  algorithmType: string | undefined;
  algorithmName: string | undefined;
  cielab: number[] | undefined;
  category: Code | undefined;
  type: Code | undefined;
  typeModifier: Code | undefined;
}

export interface ParsedFrame {
  segmentNumber: number | undefined;
  /** ImagePositionPatient, LPS mm. */
  position: Vec3 | undefined;
  dimensionIndexValues: number[] | undefined;
  /** ReferencedSOPInstanceUID of the frame's source image, when it names one. */
  sourceInstanceUid: string | undefined;
}

export interface ParsedSeg {
  dataset: DicomDataset;
  sopClassUid: string | undefined;
  studyInstanceUid: string | undefined;
  frameOfReferenceUid: string | undefined;
  segmentationType: string | undefined;
  rows: number;
  columns: number;
  numberOfFrames: number;
  orientation: number[] | undefined;
  pixelSpacing: number[] | undefined;
  segments: ParsedSegment[];
  frames: ParsedFrame[];
  /** ReferencedSeriesSequence: each source series and the instances it names. */
  referencedSeries: Array<{ seriesUid: string | undefined; instanceUids: string[] }>;
  /** Frame n (from 0) unpacked to one byte (0 or 1) per pixel, row by row. */
  frameMask(n: number): Uint8Array;
}

export function parseDicomSeg(bytes: Uint8Array): ParsedSeg {
  const { dataset, pixelData } = readPart10(bytes);
  const rows = dataset.number('Rows') ?? 0;
  const columns = dataset.number('Columns') ?? 0;
  const shared = dataset.items('SharedFunctionalGroupsSequence')[0];
  return {
    dataset,
    sopClassUid: dataset.string('SOPClassUID'),
    studyInstanceUid: dataset.string('StudyInstanceUID'),
    frameOfReferenceUid: dataset.string('FrameOfReferenceUID'),
    segmentationType: dataset.string('SegmentationType'),
    rows,
    columns,
    numberOfFrames: dataset.number('NumberOfFrames') ?? 0,
    orientation: shared?.items('PlaneOrientationSequence')[0]?.numbers('ImageOrientationPatient'),
    pixelSpacing: shared?.items('PixelMeasuresSequence')[0]?.numbers('PixelSpacing'),
    segments: dataset.items('SegmentSequence').map(parseSegment),
    frames: dataset.items('PerFrameFunctionalGroupsSequence').map(parseFrame),
    referencedSeries: dataset.items('ReferencedSeriesSequence').map((item) => ({
      seriesUid: item.string('SeriesInstanceUID'),
      instanceUids: item.items('ReferencedInstanceSequence').map((i) => i.string('ReferencedSOPInstanceUID') ?? ''),
    })),
    frameMask: (n) => unpackFrame(pixelData ?? new Uint8Array(0), n, rows * columns),
  };
}

function parseSegment(item: DicomDataset): ParsedSegment {
  const type = item.items('SegmentedPropertyTypeCodeSequence')[0];
  return {
    number: item.number('SegmentNumber') ?? 0,
    label: item.string('SegmentLabel') ?? '',
    algorithmType: item.string('SegmentAlgorithmType'),
    algorithmName: item.string('SegmentAlgorithmName'),
    cielab: item.numbers('RecommendedDisplayCIELabValue'),
    category: parseCode(item.items('SegmentedPropertyCategoryCodeSequence')[0]),
    type: parseCode(type),
    typeModifier: parseCode(type?.items('SegmentedPropertyTypeModifierCodeSequence')[0]),
  };
}

function parseCode(item: DicomDataset | undefined): Code | undefined {
  if (!item) return undefined;
  return {
    value: item.string('CodeValue') ?? item.string('LongCodeValue') ?? '',
    scheme: item.string('CodingSchemeDesignator') ?? '',
    meaning: item.string('CodeMeaning') ?? '',
  };
}

function parseFrame(item: DicomDataset): ParsedFrame {
  const position = item.items('PlanePositionSequence')[0]?.numbers('ImagePositionPatient');
  const source = item.items('DerivationImageSequence')[0]?.items('SourceImageSequence')[0];
  return {
    segmentNumber: item.items('SegmentIdentificationSequence')[0]?.number('ReferencedSegmentNumber'),
    position: position?.length === 3 ? [position[0], position[1], position[2]] : undefined,
    dimensionIndexValues: item.items('FrameContentSequence')[0]?.numbers('DimensionIndexValues'),
    sourceInstanceUid: source?.string('ReferencedSOPInstanceUID'),
  };
}

/** Bits of frame n: frames follow each other bit after bit, least significant bit first. */
function unpackFrame(pixelData: Uint8Array, n: number, pixels: number): Uint8Array {
  const mask = new Uint8Array(pixels);
  const start = n * pixels;
  for (let p = 0; p < pixels; p++) {
    const bit = start + p;
    mask[p] = (pixelData[Math.floor(bit / 8)] >> (bit % 8)) & 1;
  }
  return mask;
}

/**
 * Everything wrong with `bytes` as the SEG of `labels` (on `source`'s grid) under `table`: an empty
 * list when the SEG holds exactly the label map, with the right codes, geometry and references.
 */
export function verifyDicomSeg(bytes: Uint8Array, source: Volume, labels: Volume, table: SegLabelTable): string[] {
  const seg = parseDicomSeg(bytes);
  const problems: string[] = [];
  const expect = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  const [nx, ny] = labels.dims;
  expect(seg.sopClassUid === SEGMENTATION_STORAGE_UID, `SOPClassUID is ${seg.sopClassUid}`);
  expect(seg.segmentationType === 'BINARY', `SegmentationType is ${seg.segmentationType}`);
  expect(seg.rows === ny && seg.columns === nx, `grid is ${seg.columns}x${seg.rows}, labels ${nx}x${ny}`);
  expect(
    seg.numberOfFrames === seg.frames.length,
    `NumberOfFrames ${seg.numberOfFrames} but ${seg.frames.length} per-frame items`,
  );
  // A SEG of a label map with no voxels keeps every entry (see planSegments).
  const withVoxels = table.labels.filter((entry) => countVoxels(labels, entry.value) > 0);
  const expected = withVoxels.length > 0 ? withVoxels : table.labels;
  expect(
    seg.segments.length === expected.length,
    `${seg.segments.length} segments, ${expected.length} labels have voxels`,
  );
  expected.forEach((entry, n) => checkSegment(seg.segments[n], entry, n + 1, expect));
  checkGeometry(seg, labels, expect);
  checkFrames(seg, labels, expected, expect);
  if (source.meta.dicom) checkReferences(seg, source, expect);
  return problems;
}

type Expect = (ok: boolean, problem: string) => void;

function checkSegment(segment: ParsedSegment | undefined, entry: SegLabelEntry, number: number, expect: Expect): void {
  if (!segment) return expect(false, `segment ${number} (${entry.name}) is missing`);
  const where = `segment ${number} (${entry.name})`;
  expect(segment.number === number, `${where}: SegmentNumber ${segment.number}`);
  expect(segment.label === entry.name.slice(0, 64), `${where}: SegmentLabel "${segment.label}"`);
  expect(segment.algorithmType === 'AUTOMATIC', `${where}: SegmentAlgorithmType ${segment.algorithmType}`);
  expect(!!segment.algorithmName, `${where}: no SegmentAlgorithmName`);
  expect(
    sameCode(segment.category, CATEGORY_CODES[categoryOf(entry)]),
    `${where}: category ${JSON.stringify(segment.category)}`,
  );
  expect(sameCode(segment.type, typeCodeOf(entry)), `${where}: type ${JSON.stringify(segment.type)}`);
  const side = lateralityOf(entry);
  expect(
    side ? sameCode(segment.typeModifier, side) : segment.typeModifier === undefined,
    `${where}: modifier ${JSON.stringify(segment.typeModifier)}`,
  );
  const lab = srgbToDicomLab(entry.color);
  expect(
    segment.cielab?.length === 3 && segment.cielab.every((v, i) => v === lab[i]),
    `${where}: CIELab ${segment.cielab?.join(',')}`,
  );
}

function sameCode(a: Code | undefined, b: Code): boolean {
  return !!a && a.value === b.value && a.scheme === b.scheme && a.meaning === b.meaning.slice(0, 64);
}

function checkGeometry(seg: ParsedSeg, labels: Volume, expect: Expect): void {
  const lps = flipRasLps(labels.affine);
  const unit = (c: number) => {
    const v = [lps[c], lps[4 + c], lps[8 + c]];
    const n = Math.hypot(v[0], v[1], v[2]);
    return v.map((x) => x / n);
  };
  const orientation = [...unit(0), ...unit(1)];
  expect(
    !!seg.orientation && seg.orientation.every((v, i) => Math.abs(v - orientation[i]) < 1e-6),
    `ImageOrientationPatient ${seg.orientation?.join('\\')}, affine says ${orientation.join('\\')}`,
  );
  const spacing = [Math.hypot(lps[1], lps[5], lps[9]), Math.hypot(lps[0], lps[4], lps[8])];
  expect(
    !!seg.pixelSpacing && seg.pixelSpacing.every((v, i) => Math.abs(v - spacing[i]) < 1e-6),
    `PixelSpacing ${seg.pixelSpacing?.join('\\')}, affine says ${spacing.join('\\')}`,
  );
}

/**
 * Each frame's position must be a slice k of the label grid (found from the position alone, within
 * 1e-3 mm), its bits must be exactly that segment's mask on slice k, and every slice where a
 * segment has voxels must have its frame.
 */
function checkFrames(seg: ParsedSeg, labels: Volume, expected: readonly SegLabelEntry[], expect: Expect): void {
  const [nx, ny, nz] = labels.dims;
  const lps = flipRasLps(labels.affine);
  const positions = Array.from({ length: nz }, (_, k) => transformPoint(lps, [0, 0, k]));
  const seen = new Set<string>();
  seg.frames.forEach((frame, n) => {
    const entry = expected[(frame.segmentNumber ?? 0) - 1];
    if (!entry || !frame.position) return expect(false, `frame ${n + 1}: no valid segment number or position`);
    const k = nearestSlice(positions, frame.position);
    const distance = Math.hypot(...frame.position.map((v, axis) => v - positions[k][axis]));
    if (distance > 1e-3)
      return expect(
        false,
        `frame ${n + 1}: position ${frame.position.join('\\')} is ${distance} mm from the nearest slice`,
      );
    expect(
      frame.dimensionIndexValues?.[0] === frame.segmentNumber && frame.dimensionIndexValues?.[1] === k + 1,
      `frame ${n + 1}: DimensionIndexValues ${frame.dimensionIndexValues?.join('\\')}`,
    );
    seen.add(`${frame.segmentNumber}:${k}`);
    const mask = seg.frameMask(n);
    const base = k * nx * ny;
    let wrong = 0;
    for (let p = 0; p < nx * ny; p++) if (mask[p] !== (labels.data[base + p] === entry.value ? 1 : 0)) wrong++;
    expect(
      wrong === 0,
      `frame ${n + 1} (segment ${frame.segmentNumber}, slice ${k}): ${wrong} pixels differ from the label map`,
    );
  });
  expected.forEach((entry, s) => {
    for (let k = 0; k < nz; k++) {
      if (!seen.has(`${s + 1}:${k}`) && sliceHas(labels, k, entry.value))
        expect(false, `segment ${s + 1} has voxels on slice ${k} but no frame`);
    }
  });
}

function nearestSlice(positions: readonly Vec3[], point: Vec3): number {
  let best = 0;
  let bestDistance = Infinity;
  positions.forEach((position, k) => {
    const distance = Math.hypot(position[0] - point[0], position[1] - point[1], position[2] - point[2]);
    if (distance < bestDistance) [best, bestDistance] = [k, distance];
  });
  return best;
}

function checkReferences(seg: ParsedSeg, source: Volume, expect: Expect): void {
  const dicom = source.meta.dicom;
  if (!dicom) return;
  expect(
    seg.studyInstanceUid === dicom.studyInstanceUid,
    `StudyInstanceUID ${seg.studyInstanceUid}, source ${dicom.studyInstanceUid}`,
  );
  if (dicom.frameOfReferenceUid)
    expect(seg.frameOfReferenceUid === dicom.frameOfReferenceUid, `FrameOfReferenceUID ${seg.frameOfReferenceUid}`);
  // each source instance named once, under its own series
  const seriesOf = new Map(
    seg.referencedSeries.flatMap((series) => series.instanceUids.map((uid) => [uid, series.seriesUid] as const)),
  );
  const sourceSeries = dicom.sliceSeriesUids ?? dicom.sopInstanceUids.map(() => dicom.seriesInstanceUid);
  const misplaced = dicom.sopInstanceUids.findIndex((uid, k) => seriesOf.get(uid) !== sourceSeries[k]);
  expect(
    misplaced < 0,
    `ReferencedSeriesSequence names source instance ${dicom.sopInstanceUids[misplaced]} under series ${seriesOf.get(dicom.sopInstanceUids[misplaced])}, not ${sourceSeries[misplaced]}`,
  );
  expect(
    seg.referencedSeries.length === new Set(sourceSeries).size,
    `ReferencedSeriesSequence has ${seg.referencedSeries.length} items for ${new Set(sourceSeries).size} source series`,
  );
  const lps = flipRasLps(source.affine);
  const positions = Array.from({ length: source.dims[2] }, (_, k) => transformPoint(lps, [0, 0, k]));
  seg.frames.forEach((frame, n) => {
    if (!frame.position) return;
    const k = nearestSlice(positions, frame.position);
    expect(
      frame.sourceInstanceUid === dicom.sopInstanceUids[k],
      `frame ${n + 1} names source ${frame.sourceInstanceUid}, slice ${k} is ${dicom.sopInstanceUids[k]}`,
    );
  });
}

function countVoxels(labels: Volume, value: number): number {
  let count = 0;
  for (let i = 0; i < labels.data.length; i++) if (labels.data[i] === value) count++;
  return count;
}

function sliceHas(labels: Volume, k: number, value: number): boolean {
  const sliceVoxels = labels.dims[0] * labels.dims[1];
  for (let p = k * sliceVoxels; p < (k + 1) * sliceVoxels; p++) if (labels.data[p] === value) return true;
  return false;
}
