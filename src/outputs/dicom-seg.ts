/**
 * segmentation.dcm: a DICOM Segmentation (SOP class 1.2.840.10008.5.1.4.1.1.66.4), BINARY, one
 * segment per mask (or per label-table entry of a label map) that has voxels, on the source's grid.
 * Segments may overlap (a kidney and its left side, a lesion in its organ): SegmentsOverlap says
 * whether they do, as PS3.3 C.8.20.2 allows for BINARY segmentations.
 *
 * Frames: one per (segment, slice k) pair where the segment has at least one voxel on slice k;
 * empty frames are left out, as is standard practice (highdicom, dcmqi), which keeps a SEG of a few
 * small structures on a 300-slice CT small. Frames are ordered by segment, then by k. Rows are
 * dims[1] and Columns dims[0] (voxel i is the column index), so the SEG needs no resampling.
 *
 * Geometry is written from the affine (RAS, converted to DICOM's LPS): the image orientation and the
 * position of each slice. PixelSpacing comes from the affine too, not from a differing stated
 * spacing, so that positions and spacing agree in any viewer. When the source is a DICOM series,
 * the SEG joins its study and frame of reference and every frame names the source instance of its
 * slice; otherwise new study, series and frame-of-reference UIDs are made.
 */
import type { Mat4, Vec3 } from '../core/affine.js';
import { flipRasLps, transformPoint } from '../core/affine.js';
import { MedparseError } from '../core/errors.js';
import type { Dims3, Volume } from '../core/volume.js';
import { encodeDicomFileWithPixels } from '../io/dicom/dcmjs.js';
import { boxIntersection, type VoxelBox } from '../ops/grid.js';
import type { WritableDataset } from '../io/dicom/dcmjs.js';
import type { Code, SegLabelEntry, SegLabelTable } from './seg-codes.js';
import {
  CATEGORY_CODES,
  LOCAL_CODING_SCHEME,
  categoryOf,
  codeItem,
  lateralityOf,
  srgbToDicomLab,
  truncate,
  typeCodeOf,
} from './seg-codes.js';

export const SEGMENTATION_STORAGE_UID = '1.2.840.10008.5.1.4.1.1.66.4';

export interface DicomSegOptions {
  seriesDescription?: string;
  manufacturerModelName?: string;
  algorithmName?: string;
  algorithmVersion?: string;
  /** SeriesNumber of the new series (default 300, clear of typical scanner numbering). */
  seriesNumber?: number;
}

/** Storage SOP classes to name in references when the source series did not record its own. */
const IMAGE_STORAGE_BY_MODALITY: Record<string, string> = {
  CT: '1.2.840.10008.5.1.4.1.1.2',
  MR: '1.2.840.10008.5.1.4.1.1.4',
  PT: '1.2.840.10008.5.1.4.1.1.128',
};

const TAG = {
  segmentIdentificationSequence: 0x0062000a,
  referencedSegmentNumber: 0x0062000b,
  planePositionSequence: 0x00209113,
  imagePositionPatient: 0x00200032,
};

/** Encodes the label map as a DICOM SEG Part 10 file (explicit VR little endian): one segment per entry. */
export function encodeDicomSeg(
  source: Volume,
  labels: Volume,
  table: SegLabelTable,
  options: DicomSegOptions = {},
): Uint8Array {
  checkSameGrid(source, labels);
  const masks = table.labels.map((entry) => ({ entry, data: labels.data, value: entry.value }));
  return encodeDicomSegMasks(source, masks, options);
}

/**
 * One segment's voxels: those of `data` equal to `value`, or nonzero when there is no value (a mask or a
 * probability map); `box` (voxel indices, inclusive), when given, bounds where they can be.
 */
export interface SegmentMask {
  entry: SegLabelEntry;
  data: ArrayLike<number>;
  value?: number;
  box?: readonly [number, number, number, number, number, number];
}

/**
 * Encodes masks on `source`'s grid as a DICOM SEG, one segment each; masks may overlap, and the SEG
 * then says so (SegmentsOverlap YES).
 */
export function encodeDicomSegMasks(
  source: Volume,
  masks: readonly SegmentMask[],
  options: DicomSegOptions = {},
): Uint8Array {
  for (const mask of masks) {
    if (mask.data.length !== source.data.length)
      throw new MedparseError(
        'INVALID_DIMENSIONS',
        `the mask of ${mask.entry.name} holds ${mask.data.length} voxels, the source image ${source.data.length}, so a DICOM SEG of it would not line up`,
      );
  }
  const segments = planSegments(source.dims, masks);
  const frames = planFrames(segments, source.dims[0] * source.dims[1]);
  const geometry = segGeometry(source.affine);
  const references = sourceReferences(source);
  const uids = {
    study: references?.studyInstanceUid ?? newDicomUid(),
    frameOfReference: references?.frameOfReferenceUid ?? newDicomUid(),
    series: newDicomUid(),
    instance: newDicomUid(),
    dimensionOrganization: newDicomUid(),
  };
  const overlap = segmentsOverlap(source.dims, segments);
  const dataset: WritableDataset = {
    ...sopCommon(uids.instance),
    ...patientAndStudy(source, uids.study),
    ...seriesAndEquipment(uids.series, uids.frameOfReference, options),
    ...segmentationImage(source.dims, segments, frames.length, overlap, options),
    ...dimensions(uids.dimensionOrganization),
    SharedFunctionalGroupsSequence: [sharedGroups(geometry)],
    PerFrameFunctionalGroupsSequence: frames.map((frame) => perFrameGroups(frame, geometry, references)),
    ...(references
      ? { ReferencedSeriesSequence: referencedSeries(references) }
      : {
          ImageComments:
            'Made by medparse from an image file that is not DICOM: it names no patient, study or series, so this ' +
            'SEG starts a study of its own and attaches to no images; match it to them by geometry only.',
        }),
  };
  return encodeDicomFileWithPixels(dataset, packFrames(source.dims, frames));
}

/** What a SEG made from a file without DICOM identifiers says in its description, and the report repeats. */
export const NO_PATIENT_DESCRIPTION = 'made from a non-DICOM file: no patient or study to attach to';

/** A UID in the 2.25 arc: "2.25." and a random UUID as one decimal number (PS3.5 B.2). */
export function newDicomUid(): string {
  return `2.25.${BigInt(`0x${crypto.randomUUID().replace(/-/g, '')}`).toString(10)}`;
}

function checkSameGrid(source: Volume, labels: Volume): void {
  const same =
    source.dims.every((n, axis) => n === labels.dims[axis]) &&
    source.affine.every((v, i) => Math.abs(v - labels.affine[i]) < 1e-4);
  if (!same) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `the label map (${labels.dims.join('x')}) is not on the source image's grid (${source.dims.join('x')}), so a DICOM SEG of it would not line up`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Segments and frames

export interface PlannedSegment {
  /** SegmentNumber, from 1. */
  number: number;
  entry: SegLabelEntry;
  mask: SegmentMask;
  /** Slices (k) on which the segment has voxels, ascending. */
  slices: number[];
}

/**
 * The segments to write: masks with at least one voxel, numbered in order. When no mask has a voxel
 * (a run that found nothing), every one is kept so the SEG still says what was looked for; it then
 * holds a single empty frame, since a SEG must have at least one.
 */
export function planSegments(dims: Dims3, masks: readonly SegmentMask[]): PlannedSegment[] {
  if (masks.length === 0) {
    throw new MedparseError(
      'EMPTY_INPUT',
      'the label table is empty, so a DICOM SEG would have no segment; there is nothing to encode',
    );
  }
  const all = masks.map((mask) => ({ entry: mask.entry, mask, slices: slicesWithVoxels(dims, mask) }));
  const found = all.filter((segment) => segment.slices.length > 0);
  if (found.length === 0) return all.map((segment, n) => ({ ...segment, number: n + 1, slices: n === 0 ? [0] : [] }));
  return found.map((segment, n) => ({ ...segment, number: n + 1 }));
}

/** The mask's box on slice k as rows: [first row index in the volume, i0, i1, j0, j1]; null off the box. */
function sliceBox(dims: Dims3, mask: SegmentMask, k: number): readonly number[] | null {
  const [nx, ny] = dims;
  const box = mask.box ?? [0, 0, 0, nx - 1, ny - 1, dims[2] - 1];
  return k < box[2] || k > box[5] ? null : [nx * ny * k, box[0], box[3], box[1], box[4]];
}

/** Whether slice k holds a voxel of the mask (it stops at the first). */
function sliceHasVoxels(dims: Dims3, mask: SegmentMask, k: number): boolean {
  const rows = sliceBox(dims, mask, k);
  if (!rows) return false;
  const [base, i0, i1, j0, j1] = rows;
  const { data, value } = mask;
  for (let j = j0; j <= j1; j++) {
    const row = base + dims[0] * j;
    for (let i = i0; i <= i1; i++) {
      const v = data[row + i];
      if (value === undefined ? v !== 0 : v === value) return true;
    }
  }
  return false;
}

/**
 * Writes the in-slice index (i + nx * j) of every voxel of the mask on slice k into `into` (at least a
 * slice long), in voxel order; returns how many there are. One loop per slice, no call per voxel.
 */
function sliceVoxels(dims: Dims3, mask: SegmentMask, k: number, into: Int32Array): number {
  const rows = sliceBox(dims, mask, k);
  if (!rows) return 0;
  const [base, i0, i1, j0, j1] = rows;
  const { data, value } = mask;
  let n = 0;
  for (let j = j0; j <= j1; j++) {
    const row = base + dims[0] * j;
    for (let i = i0; i <= i1; i++) {
      const v = data[row + i];
      if (value === undefined ? v !== 0 : v === value) into[n++] = i + dims[0] * j;
    }
  }
  return n;
}

function slicesWithVoxels(dims: Dims3, mask: SegmentMask): number[] {
  const slices: number[] = [];
  for (let k = 0; k < dims[2]; k++) if (sliceHasVoxels(dims, mask, k)) slices.push(k);
  return slices;
}

/**
 * Whether any voxel lies in two segments: each pair is compared only where their boxes meet, and the
 * first shared voxel settles it.
 */
function segmentsOverlap(dims: Dims3, segments: readonly PlannedSegment[]): boolean {
  const boxes = segments.map(({ mask }): VoxelBox =>
    mask.box ? [...mask.box] : [0, 0, 0, dims[0] - 1, dims[1] - 1, dims[2] - 1],
  );
  return segments.some((a, n) =>
    segments.slice(n + 1).some((b, m) => masksMeet(dims, a.mask, b.mask, boxIntersection(boxes[n], boxes[n + 1 + m]))),
  );
}

/** Whether a voxel of `box` (null: none) lies in both masks. */
function masksMeet(dims: Dims3, a: SegmentMask, b: SegmentMask, box: VoxelBox | null): boolean {
  if (!box) return false;
  const [nx, ny] = dims;
  for (let k = box[2]; k <= box[5]; k++)
    for (let j = box[1]; j <= box[4]; j++) {
      const row = nx * (j + ny * k);
      for (let i = row + box[0]; i <= row + box[3]; i++) if (inMask(a, i) && inMask(b, i)) return true;
    }
  return false;
}

function inMask(mask: SegmentMask, index: number): boolean {
  const v = mask.data[index];
  return mask.value === undefined ? v !== 0 : v === mask.value;
}

interface Frame {
  segment: PlannedSegment;
  k: number;
}

function planFrames(segments: readonly PlannedSegment[], sliceVoxels: number): Frame[] {
  const frames = segments.flatMap((segment) => segment.slices.map((k) => ({ segment, k })));
  const bytes = (frames.length * sliceVoxels) / 8;
  if (bytes > 0xfffffffe)
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      'the segmentation is too large for one DICOM SEG (over 4 GiB of pixel data)',
    );
  return frames;
}

/**
 * BINARY pixel data (PS3.5 8.1.1, PS3.3 C.8.20.2): one bit per pixel, the first pixel in the least
 * significant bit, and frames concatenated bit after bit, not padded to a byte. When a frame's
 * pixel count is not a multiple of 8 the next frame starts inside the same byte; only the end of
 * the whole value is padded (to an even length).
 */
function packFrames(dims: Dims3, frames: readonly Frame[]): Uint8Array {
  const sliceVoxelCount = dims[0] * dims[1];
  const byteLength = Math.ceil((frames.length * sliceVoxelCount) / 8);
  const bits = new Uint8Array(byteLength + (byteLength % 2));
  const voxels = new Int32Array(sliceVoxelCount);
  frames.forEach((frame, f) => {
    // Start of the frame as (byte, bit), so the voxel loop stays in small integers.
    const byte = Math.floor((f * sliceVoxelCount) / 8);
    const first = (f * sliceVoxelCount) % 8;
    const n = sliceVoxels(dims, frame.segment.mask, frame.k, voxels);
    for (let v = 0; v < n; v++) {
      const bit = first + voxels[v];
      bits[byte + (bit >>> 3)] |= 1 << (bit & 7);
    }
  });
  return bits;
}

// ---------------------------------------------------------------------------------------------
// Geometry

interface SegGeometry {
  /** ImageOrientationPatient: row (i) then column (j) direction cosines, LPS. */
  orientation: number[];
  /** PixelSpacing: [between rows (j), between columns (i)], mm. */
  pixelSpacing: [number, number];
  sliceSpacing: number;
  /** ImagePositionPatient of slice k, LPS mm. */
  position(k: number): Vec3;
}

function segGeometry(affineRas: Mat4): SegGeometry {
  const lps = flipRasLps(affineRas);
  const column = (c: number): Vec3 => [lps[c], lps[4 + c], lps[8 + c]];
  const [iAxis, jAxis, kAxis] = [column(0), column(1), column(2)];
  const [si, sj] = [norm(iAxis), norm(jAxis)];
  const row = iAxis.map((v) => v / si);
  const col = jAxis.map((v) => v / sj);
  // Distance between slice planes: the k step along the plane normal (equal to |k| unless sheared).
  const normal = cross(row, col);
  const sliceSpacing = Math.abs(kAxis[0] * normal[0] + kAxis[1] * normal[1] + kAxis[2] * normal[2]);
  return {
    orientation: [...row, ...col],
    pixelSpacing: [sj, si],
    sliceSpacing,
    position: (k) => transformPoint(lps, [0, 0, k]),
  };
}

function norm(v: readonly number[]): number {
  return Math.hypot(v[0], v[1], v[2]);
}

function cross(a: readonly number[], b: readonly number[]): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/**
 * A DS value: at most 16 characters and 12 significant digits (nanometres at these scales), which
 * keeps float noise such as 2.49999999999991 out of the file.
 */
export function decimalString(value: number): string {
  const clean = Math.abs(value) < 1e-12 ? 0 : value;
  for (let digits = 12; digits > 0; digits--) {
    const text = String(Number(clean.toPrecision(digits)));
    if (text.length <= 16) return text;
  }
  return String(Math.round(clean));
}

// ---------------------------------------------------------------------------------------------
// References to the source series

interface SourceReferences {
  studyInstanceUid: string;
  frameOfReferenceUid?: string;
  sopClassUid: string;
  /** SOP instance of slice k. */
  instances: readonly string[];
  /** Series of slice k (one series for most sources; one per slice position for a cine stored so). */
  series: readonly string[];
}

/** The source series' identifiers, when the source is DICOM and names one instance per slice. */
function sourceReferences(source: Volume): SourceReferences | undefined {
  const dicom = source.meta.dicom;
  if (!dicom) return undefined;
  if (dicom.sopInstanceUids.length !== source.dims[2]) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `the source series lists ${dicom.sopInstanceUids.length} instances for ${source.dims[2]} slices, so SEG frames cannot name their source images`,
    );
  }
  return {
    studyInstanceUid: dicom.studyInstanceUid,
    frameOfReferenceUid: dicom.frameOfReferenceUid,
    sopClassUid: dicom.sopClassUid ?? IMAGE_STORAGE_BY_MODALITY[source.meta.modality] ?? IMAGE_STORAGE_BY_MODALITY.CT,
    instances: dicom.sopInstanceUids,
    series: dicom.sliceSeriesUids ?? dicom.sopInstanceUids.map(() => dicom.seriesInstanceUid),
  };
}

/** One ReferencedSeriesSequence item per source series, each naming its own instances once. */
function referencedSeries(references: SourceReferences): WritableDataset[] {
  const instancesOf = new Map<string, Set<string>>();
  references.instances.forEach((uid, k) => {
    const series = references.series[k];
    instancesOf.set(series, (instancesOf.get(series) ?? new Set()).add(uid));
  });
  return [...instancesOf].map(([series, instances]) => ({
    SeriesInstanceUID: series,
    ReferencedInstanceSequence: [...instances].map((uid) => ({
      ReferencedSOPClassUID: references.sopClassUid,
      ReferencedSOPInstanceUID: uid,
    })),
  }));
}

// ---------------------------------------------------------------------------------------------
// Modules of the Segmentation IOD

function sopCommon(instanceUid: string): WritableDataset {
  return { SpecificCharacterSet: 'ISO_IR 192', SOPClassUID: SEGMENTATION_STORAGE_UID, SOPInstanceUID: instanceUid };
}

/**
 * Patient and study copied from the source series, so the SEG files with it. For a source that is
 * not DICOM the SEG starts a study of its own, dated now; patient attributes stay empty (type 2)
 * rather than invented.
 */
function patientAndStudy(source: Volume, studyUid: string): WritableDataset {
  const dicom = source.meta.dicom;
  const now = dicomDateTime(new Date());
  return {
    PatientName: dicom?.patientName ?? '',
    PatientID: dicom?.patientId ?? '',
    PatientBirthDate: '',
    PatientSex: '',
    StudyInstanceUID: studyUid,
    StudyDate: dicom ? (dicom.studyDate ?? '') : now.date,
    StudyTime: dicom ? '' : now.time,
    ReferringPhysicianName: '',
    StudyID: '',
    AccessionNumber: '',
  };
}

function seriesAndEquipment(seriesUid: string, frameOfReferenceUid: string, options: DicomSegOptions): WritableDataset {
  const now = dicomDateTime(new Date());
  return {
    Modality: 'SEG',
    SeriesInstanceUID: seriesUid,
    SeriesNumber: String(options.seriesNumber ?? 300),
    SeriesDescription: truncate(options.seriesDescription ?? 'medparse segmentation', 64),
    SeriesDate: now.date,
    SeriesTime: now.time,
    FrameOfReferenceUID: frameOfReferenceUid,
    PositionReferenceIndicator: '',
    Manufacturer: 'medparse',
    ManufacturerModelName: truncate(options.manufacturerModelName ?? 'medparse', 64),
    DeviceSerialNumber: '1',
    SoftwareVersions: truncate(options.algorithmVersion ?? 'medparse', 64),
    InstanceNumber: '1',
    ContentDate: now.date,
    ContentTime: now.time,
    InstanceCreationDate: now.date,
    InstanceCreationTime: now.time,
  };
}

function segmentationImage(
  dims: Dims3,
  segments: readonly PlannedSegment[],
  frameCount: number,
  overlap: boolean,
  options: DicomSegOptions,
): WritableDataset {
  return {
    ImageType: ['DERIVED', 'PRIMARY'],
    ContentLabel: 'MEDPARSE',
    ContentDescription: truncate(options.seriesDescription ?? 'medparse segmentation', 64),
    ContentCreatorName: '',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: dims[1],
    Columns: dims[0],
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    SegmentsOverlap: overlap ? 'YES' : 'NO',
    NumberOfFrames: String(frameCount),
    SegmentSequence: segments.map((segment) => segmentItem(segment, options)),
    ...(segments.some((segment) => typeCodeOf(segment.entry).scheme === LOCAL_CODING_SCHEME)
      ? { CodingSchemeIdentificationSequence: [localSchemeItem()] }
      : {}),
  };
}

function segmentItem(segment: PlannedSegment, options: DicomSegOptions): WritableDataset {
  const { entry } = segment;
  const laterality = lateralityOf(entry);
  const type: Code = typeCodeOf(entry);
  return {
    SegmentNumber: segment.number,
    SegmentLabel: truncate(entry.name, 64),
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: truncate(options.algorithmName ?? 'medparse', 64),
    RecommendedDisplayCIELabValue: srgbToDicomLab(entry.color),
    SegmentedPropertyCategoryCodeSequence: [codeItem(CATEGORY_CODES[categoryOf(entry)])],
    SegmentedPropertyTypeCodeSequence: [
      {
        ...codeItem(type),
        ...(laterality ? { SegmentedPropertyTypeModifierCodeSequence: [codeItem(laterality)] } : {}),
      },
    ],
  };
}

function localSchemeItem(): WritableDataset {
  return {
    CodingSchemeDesignator: LOCAL_CODING_SCHEME,
    CodingSchemeName: 'medparse anatomy vocabulary concept ids',
    CodingSchemeResponsibleOrganization: 'medparse',
  };
}

/** Frames are indexed by segment, then by position along the stack (k + 1). */
function dimensions(organizationUid: string): WritableDataset {
  return {
    DimensionOrganizationType: '3D',
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: organizationUid }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: organizationUid,
        DimensionIndexPointer: TAG.referencedSegmentNumber,
        FunctionalGroupPointer: TAG.segmentIdentificationSequence,
        DimensionDescriptionLabel: 'ReferencedSegmentNumber',
      },
      {
        DimensionOrganizationUID: organizationUid,
        DimensionIndexPointer: TAG.imagePositionPatient,
        FunctionalGroupPointer: TAG.planePositionSequence,
        DimensionDescriptionLabel: 'ImagePositionPatient',
      },
    ],
  };
}

function sharedGroups(geometry: SegGeometry): WritableDataset {
  const thickness = decimalString(geometry.sliceSpacing);
  return {
    PixelMeasuresSequence: [
      {
        PixelSpacing: geometry.pixelSpacing.map(decimalString),
        SliceThickness: thickness,
        SpacingBetweenSlices: thickness,
      },
    ],
    PlaneOrientationSequence: [{ ImageOrientationPatient: geometry.orientation.map(decimalString) }],
  };
}

function perFrameGroups(
  frame: Frame,
  geometry: SegGeometry,
  references: SourceReferences | undefined,
): WritableDataset {
  return {
    FrameContentSequence: [{ DimensionIndexValues: [frame.segment.number, frame.k + 1] }],
    PlanePositionSequence: [{ ImagePositionPatient: geometry.position(frame.k).map(decimalString) }],
    SegmentIdentificationSequence: [{ ReferencedSegmentNumber: frame.segment.number }],
    ...(references ? { DerivationImageSequence: [derivationItem(references, frame.k)] } : {}),
  };
}

function derivationItem(references: SourceReferences, k: number): WritableDataset {
  return {
    DerivationCodeSequence: [codeItem({ value: '113076', scheme: 'DCM', meaning: 'Segmentation' })],
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: references.sopClassUid,
        ReferencedSOPInstanceUID: references.instances[k],
        PurposeOfReferenceCodeSequence: [
          codeItem({ value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' }),
        ],
      },
    ],
  };
}

function dicomDateTime(now: Date): { date: string; time: string } {
  const two = (n: number) => String(n).padStart(2, '0');
  return {
    date: `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}`,
    time: `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`,
  };
}
