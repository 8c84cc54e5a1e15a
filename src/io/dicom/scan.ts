/**
 * First pass over the input: reads each file's header (never its pixels), decodes it with dcmjs and
 * turns it into slice records that say where each frame's pixels are.
 */
import type { Vec3 } from '../../core/affine.js';
import { MedparseError } from '../../core/errors.js';
import type { ProgressCallback } from '../../core/progress.js';
import { throttledProgress } from '../../core/progress.js';
import type { DicomDataset } from './dcmjs.js';
import { decodeDataset } from './dcmjs.js';
import type { DatasetEncoding } from './element-walker.js';
import {
  findPixelData,
  guessRawDatasetEncoding,
  hasDicomPreamble,
  MalformedDataset,
  readFileMetaInformation,
} from './element-walker.js';
import type { PixelLayout, SeriesAttributes, SliceRecord } from './slice.js';
import { frameByteLength } from './slice.js';
import type { DicomInput, DicomSource } from './sources.js';
import { assignMissingSeriesUids } from './missing-series-uid.js';
import { MemorySource } from './sources.js';
import { InflateLimitError, inflateRawBounded } from '../inflate-raw.js';
import type { TransferSyntax } from './transfer-syntax.js';
import { EXPLICIT_LITTLE_ENDIAN, IMPLICIT_LITTLE_ENDIAN, transferSyntax } from './transfer-syntax.js';

/** Enough for almost every header; larger ones (enhanced multi-frame) are re-read to the length needed. */
const HEAD_BYTES = 64 * 1024;
const SCAN_CONCURRENCY = 16;

export type ScanOutcome = { kind: 'image'; slices: SliceRecord[] } | { kind: 'no-pixel-data' } | { kind: 'not-dicom' };

export interface ScannedInput {
  input: DicomInput;
  slices: SliceRecord[];
  /** DICOM files without pixel data (DICOMDIR, reports, presentation states). */
  nonImageCount: number;
  notDicomCount: number;
  /** What the reader did that the user should know: skipped files, derived series UIDs. */
  notes: string[];
}

/** Scans every file of `input` (files on disk, or bytes in memory: sources.ts, file-sources.ts). */
export async function scanInput(input: DicomInput, onProgress?: ProgressCallback): Promise<ScannedInput> {
  const report = throttledProgress('scan DICOM', onProgress);
  const outcomes = await mapConcurrently(input.sources, SCAN_CONCURRENCY, async (source, done) => {
    const outcome = await scanSource(source);
    report(done() / input.sources.length);
    return outcome;
  });
  const slices = outcomes.flatMap((outcome) => (outcome.kind === 'image' ? outcome.slices : []));
  const nonImageCount = outcomes.filter((outcome) => outcome.kind === 'no-pixel-data').length;
  const notDicom = input.sources.filter((_, i) => outcomes[i].kind === 'not-dicom');
  if (slices.length === 0) throw noImagesError(input, nonImageCount, notDicom.length);
  const notes = [notDicomNote(notDicom), await assignMissingSeriesUids(slices)].filter((note) => note !== undefined);
  return { input, slices, nonImageCount, notDicomCount: notDicom.length, notes };
}

/** Stray files (a README, a checksum list, a .DS_Store) are skipped, and said to be. */
function notDicomNote(skipped: readonly DicomSource[]): string | undefined {
  if (skipped.length === 0) return undefined;
  const shown = skipped.slice(0, 3).map((source) => source.name);
  const more = skipped.length > shown.length ? ` and ${skipped.length - shown.length} more` : '';
  return `skipped ${skipped.length} file(s) that are not DICOM: ${shown.join(', ')}${more}`;
}

function noImagesError(input: DicomInput, nonImageCount: number, notDicomCount: number): MedparseError {
  const where = input.kind === 'folder' ? 'folder' : input.kind === 'zip' ? 'zip archive' : 'file';
  const found =
    input.sources.length === 0
      ? `the ${where} is empty`
      : `the ${where} holds ${input.sources.length} file(s): ${notDicomCount} not DICOM, ${nonImageCount} DICOM without pixel data`;
  return new MedparseError(
    'EMPTY_INPUT',
    `no DICOM images found (${found}); point medparse at the folder or .zip that holds the series' image files`,
    input.path,
  );
}

/** Where the dataset starts in a file and how it is encoded. */
interface FileLayout {
  source: DicomSource;
  head: Uint8Array;
  datasetStart: number;
  syntax: TransferSyntax;
  /** True when the file has the 'DICM' preamble; raw datasets are only a guess and fail silently. */
  certain: boolean;
}

export async function scanSource(source: DicomSource): Promise<ScanOutcome> {
  const head = await source.read(0, HEAD_BYTES);
  const layout = detectFileLayout(source, head);
  if (!layout) return { kind: 'not-dicom' };
  try {
    return await scanLayout(layout.syntax.deflated ? await inflateDataset(layout) : layout);
  } catch (error) {
    if (!layout.certain) return { kind: 'not-dicom' };
    throw error;
  }
}

function detectFileLayout(source: DicomSource, head: Uint8Array): FileLayout | undefined {
  if (hasDicomPreamble(head)) {
    const meta = readFileMetaInformation(head, 132);
    if (!meta)
      throw new MedparseError(
        'TRUNCATED_FILE',
        'the file ends inside its DICOM meta header; copy or export it again',
        source.name,
      );
    const uid = meta.transferSyntaxUid ?? guessedSyntaxUid(head, meta.datasetStart);
    return { source, head, datasetStart: meta.datasetStart, syntax: transferSyntax(uid), certain: true };
  }
  // Files written without the 128-byte preamble: a bare meta group, or a bare dataset.
  if (head.length >= 2 && head[0] === 0x02 && head[1] === 0x00) {
    const meta = bareFileMetaInformation(head);
    if (!meta?.transferSyntaxUid) return undefined;
    return {
      source,
      head,
      datasetStart: meta.datasetStart,
      syntax: transferSyntax(meta.transferSyntaxUid),
      certain: false,
    };
  }
  const encoding = guessRawDatasetEncoding(head);
  if (!encoding) return undefined;
  return { source, head, datasetStart: 0, syntax: transferSyntax(syntaxUidOf(encoding)), certain: false };
}

/** A meta group without preamble is only a guess: a stray file that starts 02 00 is not DICOM, not damaged. */
function bareFileMetaInformation(head: Uint8Array): ReturnType<typeof readFileMetaInformation> {
  try {
    return readFileMetaInformation(head, 0);
  } catch (error) {
    if (error instanceof MalformedDataset) return undefined;
    throw error;
  }
}

function guessedSyntaxUid(head: Uint8Array, datasetStart: number): string {
  const vr = String.fromCharCode(head[datasetStart + 4] ?? 0, head[datasetStart + 5] ?? 0);
  return /^[A-Z]{2}$/.test(vr) ? EXPLICIT_LITTLE_ENDIAN : IMPLICIT_LITTLE_ENDIAN;
}

function syntaxUidOf(encoding: DatasetEncoding): string {
  return encoding.explicitVr ? EXPLICIT_LITTLE_ENDIAN : IMPLICIT_LITTLE_ENDIAN;
}

/** Most a deflated dataset may inflate to: no header says how large it is, so a fixed bound stops a bomb. */
export const MAX_INFLATED_DATASET_BYTES = 2 ** 30;

/** A deflated dataset cannot be walked in place: inflate it once (bounded) and read it from memory. */
async function inflateDataset(layout: FileLayout): Promise<FileLayout> {
  const whole = await layout.source.read(0, layout.source.size);
  let inflated: Uint8Array;
  try {
    const deflated = whole.subarray(layout.datasetStart);
    inflated = inflateRawBounded(deflated, MAX_INFLATED_DATASET_BYTES, MAX_INFLATED_DATASET_BYTES);
  } catch (error) {
    const tooLarge = error instanceof InflateLimitError;
    throw new MedparseError(
      'CORRUPT_FILE',
      tooLarge
        ? `the deflated dataset inflates to more than ${MAX_INFLATED_DATASET_BYTES / 2 ** 30} GiB (a decompression bomb?); refused`
        : `cannot inflate the deflated dataset (${(error as Error).message})`,
      layout.source.name,
    );
  }
  const source = new MemorySource(layout.source.name, inflated);
  return {
    source,
    head: inflated,
    datasetStart: 0,
    syntax: transferSyntax(EXPLICIT_LITTLE_ENDIAN),
    certain: layout.certain,
  };
}

async function scanLayout(layout: FileLayout): Promise<ScanOutcome> {
  const { source } = layout;
  const encoding = { explicitVr: layout.syntax.explicitVr, littleEndian: layout.syntax.littleEndian };
  let head = layout.head;
  for (;;) {
    let search;
    try {
      search = findPixelData(head, layout.datasetStart, encoding);
    } catch (error) {
      if (error instanceof MalformedDataset)
        throw new MedparseError('CORRUPT_FILE', `the DICOM header is damaged: ${error.message}`, source.name);
      throw error;
    }
    if (search.kind === 'absent') return { kind: 'no-pixel-data' };
    if (search.kind === 'found') {
      const dataset = decodeHeader(source, head.subarray(layout.datasetStart, search.tagOffset), layout.syntax);
      return { kind: 'image', slices: sliceRecords(source, dataset, layout.syntax, search) };
    }
    if (head.length >= source.size) {
      throw new MedparseError(
        'TRUNCATED_FILE',
        `the file ends (at ${source.size} bytes) inside its DICOM header, before the pixel data; copy or export it again`,
        source.name,
      );
    }
    head = await source.read(0, Math.max(search.needBytes + HEAD_BYTES, head.length * 2));
  }
}

function decodeHeader(source: DicomSource, bytes: Uint8Array, syntax: TransferSyntax): DicomDataset {
  // Encapsulated syntaxes encode the header as explicit VR little endian (PS3.5 A.4).
  const headerSyntax = syntax.encapsulated ? EXPLICIT_LITTLE_ENDIAN : syntax.uid;
  try {
    return decodeDataset(bytes, headerSyntax);
  } catch (error) {
    // implicit VR sequences of defined length are nested beyond what the walker can see
    const reason =
      error instanceof RangeError && /call stack/i.test(error.message)
        ? 'its sequences are nested too deeply to read'
        : (error as Error).message;
    throw new MedparseError('CORRUPT_FILE', `the DICOM header cannot be decoded (${reason})`, source.name);
  }
}

interface PixelDataPosition {
  valueOffset: number;
  length: number | undefined;
}

function sliceRecords(
  source: DicomSource,
  dataset: DicomDataset,
  syntax: TransferSyntax,
  pixelData: PixelDataPosition,
): SliceRecord[] {
  const series = seriesAttributes(dataset);
  const layout = pixelLayout(dataset);
  const frameCount = Math.max(1, Math.round(dataset.number('NumberOfFrames') ?? 1));
  const sopInstanceUid = dataset.string('SOPInstanceUID') ?? source.name;
  const instanceNumber = dataset.number('InstanceNumber');
  const fit = framesThatFit(source, syntax, layout, pixelData);
  // one record per declared frame would let a 34 KB file declaring 50 million frames fill the heap
  const problem =
    frameCount > fit
      ? new MedparseError(
          'CORRUPT_FILE',
          `NumberOfFrames says ${frameCount} but the file's pixel data can hold at most ${fit}; the header is damaged`,
          source.name,
        )
      : fileProblem(source, dataset, syntax, layout, frameCount, pixelData);
  const recordCount = frameCount > fit ? 1 : frameCount;
  const position = { valueOffset: pixelData.valueOffset, length: pixelData.length };
  return Array.from({ length: recordCount }, (_, frame) => ({
    source,
    series,
    sopInstanceUid,
    instanceNumber,
    frame,
    frameCount,
    syntax,
    pixelData: position,
    layout,
    problem,
    ...frameGeometryAndScaling(dataset, frame, frameCount),
  }));
}

/**
 * The most frames the bytes present can hold: native frames need their full size each, compressed
 * ones at least an 8-byte fragment item each.
 */
function framesThatFit(
  source: DicomSource,
  syntax: TransferSyntax,
  layout: PixelLayout,
  pixelData: PixelDataPosition,
): number {
  const present = Math.max(0, source.size - pixelData.valueOffset);
  if (syntax.encapsulated) return Math.max(1, Math.floor(present / 8));
  const frameBytes = frameByteLength(layout);
  if (!(frameBytes > 0)) return 1;
  return Math.max(1, Math.floor(Math.min(present, pixelData.length ?? present) / frameBytes));
}

function seriesAttributes(dataset: DicomDataset): SeriesAttributes {
  return {
    // Absent: grouped with the images it shares a series' attributes with, after the scan.
    seriesInstanceUid: dataset.string('SeriesInstanceUID') ?? '',
    studyInstanceUid: dataset.string('StudyInstanceUID') ?? '',
    frameOfReferenceUid: dataset.string('FrameOfReferenceUID'),
    sopClassUid: dataset.string('SOPClassUID'),
    modality: dataset.string('Modality'),
    seriesDescription: dataset.string('SeriesDescription'),
    seriesNumber: dataset.number('SeriesNumber'),
    patientId: dataset.string('PatientID'),
    patientName: dataset.string('PatientName'),
    studyDate: dataset.string('StudyDate'),
  };
}

function pixelLayout(dataset: DicomDataset): PixelLayout {
  const bitsAllocated = dataset.number('BitsAllocated') ?? 0;
  const bitsStored = dataset.number('BitsStored') ?? bitsAllocated;
  return {
    rows: dataset.number('Rows') ?? 0,
    columns: dataset.number('Columns') ?? 0,
    samplesPerPixel: dataset.number('SamplesPerPixel') ?? 1,
    bitsAllocated,
    bitsStored,
    highBit: dataset.number('HighBit') ?? bitsStored - 1,
    signed: dataset.number('PixelRepresentation') === 1,
    photometric: dataset.string('PhotometricInterpretation') ?? 'MONOCHROME2',
  };
}

/** The first reason this file's pixels cannot be read, if any (kept until its series is read). */
function fileProblem(
  source: DicomSource,
  dataset: DicomDataset,
  syntax: TransferSyntax,
  layout: PixelLayout,
  frameCount: number,
  pixelData: PixelDataPosition,
): MedparseError | undefined {
  const fail = (code: ConstructorParameters<typeof MedparseError>[0], message: string) =>
    new MedparseError(code, message, source.name);
  if (!syntax.decodable) {
    return fail(
      'UNSUPPORTED_FORMAT',
      `pixel data is compressed as ${syntax.name} (transfer syntax ${syntax.uid}), which medparse does not decode; ` +
        'convert the series to uncompressed DICOM first (gdcmconv --raw IN OUT, or dcmdjpeg/dcmdjp2k), or to NIfTI with dcm2niix',
    );
  }
  if (layout.rows <= 0 || layout.columns <= 0)
    return fail('CORRUPT_FILE', `Rows (${layout.rows}) and Columns (${layout.columns}) must be positive`);
  if (layout.samplesPerPixel !== 1 || !layout.photometric.startsWith('MONOCHROME')) {
    return fail(
      'UNSUPPORTED_FORMAT',
      `the image is ${layout.photometric} with ${layout.samplesPerPixel} samples per pixel; medparse reads grayscale (MONOCHROME1/2) CT, MR and PET series`,
    );
  }
  if (
    ![8, 16, 32].includes(layout.bitsAllocated) ||
    layout.bitsStored < 1 ||
    layout.bitsStored > layout.bitsAllocated ||
    layout.highBit >= layout.bitsAllocated
  ) {
    return fail(
      'UNSUPPORTED_DATATYPE',
      `BitsAllocated ${layout.bitsAllocated} / BitsStored ${layout.bitsStored} / HighBit ${layout.highBit} is not a layout medparse reads (8, 16 or 32 bits allocated)`,
    );
  }
  if (frameCount > 1 && dataset.items('PerFrameFunctionalGroupsSequence').length < frameCount) {
    return fail(
      'UNSUPPORTED_FORMAT',
      `the file holds ${frameCount} frames without per-frame positions (not an enhanced CT/MR/PET image); convert it with dcm2niix`,
    );
  }
  if (syntax.encapsulated) return undefined;
  return nativeLengthProblem(source, layout, frameCount, pixelData);
}

function nativeLengthProblem(
  source: DicomSource,
  layout: PixelLayout,
  frameCount: number,
  pixelData: PixelDataPosition,
): MedparseError | undefined {
  const needed = frameByteLength(layout) * frameCount;
  if (pixelData.length === undefined) {
    return new MedparseError('CORRUPT_FILE', 'native (uncompressed) pixel data has an undefined length', source.name);
  }
  const end = pixelData.valueOffset + Math.min(pixelData.length, needed);
  if (end > source.size) {
    return new MedparseError(
      'TRUNCATED_FILE',
      `the file is truncated: its pixel data runs to byte ${end} but the file ends at ${source.size}; the copy is incomplete, copy or export the series again`,
      source.name,
    );
  }
  if (pixelData.length < needed) {
    return new MedparseError(
      'CORRUPT_FILE',
      `pixel data holds ${pixelData.length} bytes but ${layout.columns}x${layout.rows}x${frameCount} frame(s) at ${layout.bitsAllocated} bits need ${needed}; the header and pixels disagree`,
      source.name,
    );
  }
  return undefined;
}

type FrameFields = Pick<
  SliceRecord,
  | 'position'
  | 'orientation'
  | 'pixelSpacing'
  | 'sliceThickness'
  | 'spacingBetweenSlices'
  | 'rescaleSlope'
  | 'rescaleIntercept'
>;

/**
 * Geometry and rescale of one frame. Enhanced multi-frame files keep them in functional groups,
 * per frame or shared (PS3.3 C.7.6.16); classic files at the top level.
 */
function frameGeometryAndScaling(dataset: DicomDataset, frame: number, frameCount: number): FrameFields {
  const perFrame = frameCount > 1 ? dataset.items('PerFrameFunctionalGroupsSequence')[frame] : undefined;
  const shared = dataset.items('SharedFunctionalGroupsSequence')[0];
  const pick = (macro: string, keyword: string): number[] | undefined =>
    perFrame?.items(macro)[0]?.numbers(keyword) ??
    shared?.items(macro)[0]?.numbers(keyword) ??
    dataset.numbers(keyword);
  const position = pick('PlanePositionSequence', 'ImagePositionPatient');
  const orientation = pick('PlaneOrientationSequence', 'ImageOrientationPatient');
  const pixelSpacing = pick('PixelMeasuresSequence', 'PixelSpacing');
  return {
    position: position?.length === 3 ? (position as Vec3) : undefined,
    orientation: orientation?.length === 6 ? orientation : undefined,
    pixelSpacing: pixelSpacing?.length === 2 ? [pixelSpacing[0], pixelSpacing[1]] : undefined,
    sliceThickness: pick('PixelMeasuresSequence', 'SliceThickness')?.[0],
    spacingBetweenSlices: pick('PixelMeasuresSequence', 'SpacingBetweenSlices')?.[0],
    rescaleSlope: pick('PixelValueTransformationSequence', 'RescaleSlope')?.[0] ?? 1,
    rescaleIntercept: pick('PixelValueTransformationSequence', 'RescaleIntercept')?.[0] ?? 0,
  };
}

/** Maps `items` with at most `limit` calls in flight; `done()` counts completed calls. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, done: () => number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let completed = 0;
  const done = () => ++completed;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
