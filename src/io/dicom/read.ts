/**
 * Reading a DICOM series: scan headers, choose the series, stack its slices, then read each slice's
 * pixels once, straight into the preallocated volume. Platform-free: the files come as a DicomInput
 * (files on disk on Node, read-files.ts; bytes in memory in a browser, sources.ts).
 */
import { voxelSizes, type Mat4, type Vec3 } from '../../core/affine.js';
import { MedparseError } from '../../core/errors.js';
import type { ProgressCallback } from '../../core/progress.js';
import type { Modality, Volume, VolumeMeta } from '../../core/volume.js';
import type { OpenedVolume, VolumeHeader } from '../admit.js';
import { chooseFrame, type FrameOptions } from '../frames.js';
import { EncapsulationError, splitFrames } from './encapsulated.js';
import { ABSOLUTE_GAP_TOLERANCE, distancesAlongNormal, stackGeometry } from './geometry.js';
import type { OutputArray, Rescale } from './pixels.js';
import { FrameScratch, storedTypeName, writeFrame } from './pixels.js';
import { decodeCompressedFrame, FrameDecodeError } from './codecs/decode-frame.js';
import { decodeRleFrame, RleError } from './rle.js';
import { scanInput } from './scan.js';
import type { DicomSeriesSummary } from './series.js';
import { groupBySeries, selectSeries, summarizeSeries } from './series.js';
import type { SliceRecord } from './slice.js';
import { frameByteLength } from './slice.js';
import type { DicomInput, DicomSource } from './sources.js';

export interface DicomSeriesOptions extends FrameOptions {
  /** SeriesInstanceUID to read when the input holds several series. */
  series?: string;
  onProgress?: ProgressCallback;
  /** Checks the series' header before a pixel is read (Node: admit.ts's memory check); throws to refuse. */
  admit?: (header: VolumeHeader) => void;
}

/** A series whose headers were read and admitted; its voxel size and modality come with it (for memory plans). */
export interface OpenedDicomSeries extends OpenedVolume {
  spacing: Vec3;
  /** The stack's RAS affine, from the headers: sheared for a gantry-tilted series. */
  affine: Mat4;
  modality: Modality;
}

/**
 * Everything a read checks before it reads a pixel: the headers of `source` are scanned, the series
 * chosen and stacked, its geometry found and its size admitted; `load` reads the voxels as a volume in
 * RAS+ world space.
 */
export async function openDicomSeriesFrom(
  source: DicomInput,
  options: DicomSeriesOptions = {},
): Promise<OpenedDicomSeries> {
  const input = source.path;
  const scanned = await scanInput(source, options.onProgress);
  const slices = selectSeries(scanned, options.series);
  const problem = slices.find((slice) => slice.problem)?.problem;
  if (problem) throw problem;
  checkSameGrid(slices, input);
  const { slices: stack, frame } = oneTimePoint(slices, options, input);
  const geometry = stackGeometry(
    placedSlices(stack),
    commonPixelSpacing(stack, input),
    singleSliceThickness(stack[0]),
    input,
  );
  const ordered = geometry.order.map((i) => stack[i]);
  const { columns, rows } = ordered[0].layout;
  const header: VolumeHeader = {
    file: input,
    format: 'dicom',
    dims: [columns, rows, ordered.length],
    bytesPerVoxel: outputBytesPerVoxel(ordered),
  };
  options.admit?.(header);
  const notes = [...scanned.notes, ...tiltNotes(geometry.tiltDegrees)];
  const load = async (): Promise<Volume> => {
    const data = await readVoxels(ordered, options.onProgress);
    const meta = {
      ...volumeMeta(ordered, input),
      ...(frame ? { frame } : {}),
      ...(notes.length ? { notes } : {}),
    };
    return { dims: [columns, rows, ordered.length], affine: geometry.affine, data, meta };
  };
  return {
    header,
    load,
    spacing: voxelSizes(geometry.affine),
    affine: geometry.affine,
    modality: modalityOf(ordered[0].series.modality),
  };
}

/** What the user is told about a tilted stack: its masks follow the acquired slices, not an upright grid. */
function tiltNotes(degrees: number): string[] {
  if (degrees === 0) return [];
  return [
    `gantry tilt ${degrees.toFixed(1)} degrees: the networks see the scan straightened; masks are on the acquired (sheared) slices and the affine carries the shear`,
  ];
}

/**
 * A series with the same number of images at every slice position (a cardiac cine, a perfusion series)
 * holds one volume per time point: each position's images in InstanceNumber order are its time points,
 * and `options.volume` picks one, as for a 4D NIfTI. Any other series is returned whole (repeated
 * positions of unequal counts are then refused by the stack geometry).
 */
function oneTimePoint(
  slices: SliceRecord[],
  options: FrameOptions,
  input: string,
): { slices: SliceRecord[]; frame?: { index: number; count: number } } {
  const distance = distancesAlongNormal(placedSlices(slices), input);
  const order = slices.map((_, i) => i).sort((a, b) => distance[a] - distance[b]);
  const positions: number[][] = [];
  for (const i of order) {
    const current = positions[positions.length - 1];
    if (current && distance[i] - distance[current[0]] < ABSOLUTE_GAP_TOLERANCE) current.push(i);
    else positions.push([i]);
  }
  const count = positions[0].length;
  if (count === 1 || positions.some((p) => p.length !== count)) return { slices };
  const index = chooseTimePoint(count, positions.length, options, input);
  const byTime = (a: number, b: number) =>
    (slices[a].instanceNumber ?? Infinity) - (slices[b].instanceNumber ?? Infinity) ||
    slices[a].frame - slices[b].frame;
  return { slices: positions.map((p) => slices[[...p].sort(byTime)[index]]), frame: { index, count } };
}

function chooseTimePoint(count: number, positions: number, options: FrameOptions, input: string): number {
  const requested = options.volume;
  if (requested === undefined) {
    throw new MedparseError(
      'MULTIPLE_VOLUMES',
      `the series holds ${count} images at each of its ${positions} slice positions (a cine or another time series); choose a time point with --volume N (0 to ${count - 1}, in InstanceNumber order)`,
      input,
    );
  }
  return chooseFrame(count, options, input);
}

/** Every series in the input, for `medparse info`: UID, modality, description, slices, grid. */
export async function listDicomSeriesFrom(input: DicomInput): Promise<DicomSeriesSummary[]> {
  const scanned = await scanInput(input);
  return [...groupBySeries(scanned.slices).values()].map(summarizeSeries);
}

function checkSameGrid(slices: readonly SliceRecord[], input: string): void {
  const first = slices[0].layout;
  const other = slices.find((slice) => slice.layout.rows !== first.rows || slice.layout.columns !== first.columns);
  if (other) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `the series mixes image sizes (${first.columns}x${first.rows} in ${slices[0].source.name}, ${other.layout.columns}x${other.layout.rows} in ${other.source.name}), so it is not one volume; pick another series or split it with dcm2niix`,
      input,
    );
  }
}

function placedSlices(slices: readonly SliceRecord[]): Array<{ position: Vec3; orientation: number[]; name: string }> {
  return slices.map((slice) => {
    if (!slice.position || !slice.orientation) {
      throw new MedparseError(
        'CORRUPT_FILE',
        'the image has no ImagePositionPatient/ImageOrientationPatient, so it cannot be placed in patient space (a screenshot or secondary capture?); medparse needs a CT, MR or PET series with patient geometry',
        slice.source.name,
      );
    }
    return { position: slice.position, orientation: slice.orientation, name: describeSlice(slice) };
  });
}

function commonPixelSpacing(slices: readonly SliceRecord[], input: string): [number, number] {
  const spacing = slices[0].pixelSpacing;
  if (!spacing || !(spacing[0] > 0 && spacing[1] > 0)) {
    throw new MedparseError(
      'CORRUPT_FILE',
      `the image has no valid PixelSpacing (0028,0030)${spacing ? ` (${spacing.join('\\')})` : ''}, so its voxel size is unknown`,
      slices[0].source.name,
    );
  }
  const other = slices.find(
    (slice) =>
      !slice.pixelSpacing || slice.pixelSpacing.some((value, i) => Math.abs(value - spacing[i]) > 1e-4 * spacing[i]),
  );
  if (other) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `the series mixes pixel spacings (${spacing.join('\\')} in ${slices[0].source.name}, ${other.pixelSpacing?.join('\\') ?? 'none'} in ${other.source.name}); pick another series or resample it`,
      input,
    );
  }
  return spacing;
}

/** A lone slice has no neighbour to measure from: its thickness stands in for the k spacing. */
function singleSliceThickness(slice: SliceRecord): number {
  const candidates = [slice.sliceThickness, slice.spacingBetweenSlices];
  return candidates.find((value): value is number => value !== undefined && value > 0) ?? 1;
}

function describeSlice(slice: SliceRecord): string {
  return slice.frameCount > 1 ? `${slice.source.name} (frame ${slice.frame + 1})` : slice.source.name;
}

function rescaleOf(slice: SliceRecord): Rescale {
  // A zero slope would flatten the image to its intercept; scanners that write it mean "no scaling".
  return { slope: slice.rescaleSlope === 0 ? 1 : slice.rescaleSlope, intercept: slice.rescaleIntercept };
}

/**
 * Reads the slices in k order into one array. Int16 when every slice's rescaled values are whole
 * numbers that fit (CT in HU), Float32 otherwise; if an Int16 guess meets a value that does not fit,
 * the slices written so far are converted once and reading goes on in Float32.
 */
async function readVoxels(
  ordered: readonly SliceRecord[],
  onProgress: ProgressCallback | undefined,
): Promise<OutputArray> {
  const { rows, columns } = ordered[0].layout;
  const sliceVoxels = rows * columns;
  const canBeInt16 = outputBytesPerVoxel(ordered) === 2;
  let data: OutputArray = canBeInt16
    ? new Int16Array(sliceVoxels * ordered.length)
    : new Float32Array(sliceVoxels * ordered.length);
  const reader = new FrameReader();
  for (let k = 0; k < ordered.length; k++) {
    const slice = ordered[k];
    const samples = await reader.hostOrderSamples(slice);
    if (!writeFrame(samples, slice.layout, rescaleOf(slice), data, k * sliceVoxels)) {
      data = Float32Array.from(data);
      writeFrame(samples, slice.layout, rescaleOf(slice), data, k * sliceVoxels);
    }
    onProgress?.({
      stage: 'read DICOM',
      fraction: (k + 1) / ordered.length,
      message: `slice ${k + 1}/${ordered.length}`,
    });
  }
  return data;
}

/** Int16 (2 bytes) when every slice's rescaled values can be whole numbers, else Float32 (4). */
function outputBytesPerVoxel(ordered: readonly SliceRecord[]): 2 | 4 {
  return ordered.every((slice) => slice.rescaleSlope === 1 && Number.isInteger(slice.rescaleIntercept)) ? 2 : 4;
}

/** Reads frames one at a time, keeping only the current frame (and, for compressed files, the current file). */
class FrameReader {
  private readonly scratch = new FrameScratch();
  private cachedSource: DicomSource | undefined;
  private cachedFrames: Uint8Array[] = [];

  async hostOrderSamples(slice: SliceRecord): Promise<ArrayBuffer> {
    const bytesPerSample = slice.layout.bitsAllocated / 8;
    const frameBytes = frameByteLength(slice.layout);
    const target = this.scratch.bytes(frameBytes);
    if (!slice.syntax.encapsulated) {
      const read = await slice.source.readInto(slice.pixelData.valueOffset + slice.frame * frameBytes, target);
      // The scan checked the length, so a short read means the file changed since.
      if (read < frameBytes)
        throw new MedparseError(
          'TRUNCATED_FILE',
          `the file is shorter than when it was scanned (frame ${slice.frame + 1} is incomplete)`,
          slice.source.name,
        );
      return this.scratch.hostOrder(bytesPerSample, slice.syntax.littleEndian);
    }
    const frame = await this.encapsulatedFrame(slice);
    await decodeFrameInto(slice, frame, target);
    return this.scratch.hostOrder(bytesPerSample, true);
  }

  private async encapsulatedFrame(slice: SliceRecord): Promise<Uint8Array> {
    if (this.cachedSource !== slice.source) {
      const { valueOffset } = slice.pixelData;
      const bytes = await slice.source.read(valueOffset, slice.source.size - valueOffset);
      try {
        this.cachedFrames = splitFrames(bytes, slice.frameCount);
      } catch (error) {
        if (error instanceof EncapsulationError)
          throw new MedparseError(
            'CORRUPT_FILE',
            `compressed pixel data is damaged: ${error.message}`,
            slice.source.name,
          );
        throw error;
      }
      this.cachedSource = slice.source;
    }
    return this.cachedFrames[slice.frame];
  }
}

/** Decodes one compressed frame into `target` as little-endian samples of BitsAllocated bits. */
async function decodeFrameInto(slice: SliceRecord, frame: Uint8Array, target: Uint8Array): Promise<void> {
  const { codec, name } = slice.syntax;
  const where = slice.frameCount > 1 ? ` frame ${slice.frame + 1}` : '';
  try {
    if (codec === 'RLE') decodeRleFrame(frame, slice.layout.bitsAllocated / 8, target);
    else if (codec) await decodeCompressedFrame(codec, frame, slice.layout, target);
    else throw new FrameDecodeError(`no decoder for ${name}`, true);
  } catch (error) {
    if (error instanceof RleError || error instanceof FrameDecodeError) {
      const unsupported = error instanceof FrameDecodeError && error.unsupported;
      throw new MedparseError(
        unsupported ? 'UNSUPPORTED_FORMAT' : 'CORRUPT_FILE',
        `cannot decode the ${name} pixel data${where}: ${error.message}` +
          (unsupported ? '; convert the series to uncompressed DICOM first (gdcmconv --raw IN OUT, or dcmdjpeg)' : ''),
        slice.source.name,
      );
    }
    throw error;
  }
}

function volumeMeta(ordered: readonly SliceRecord[], input: string): VolumeMeta {
  const { series } = ordered[0];
  const sliceSeries = ordered.map((slice) => slice.series.seriesInstanceUid);
  return {
    sourceFormat: 'dicom',
    sourcePath: input,
    modality: modalityOf(series.modality),
    description: series.seriesDescription,
    storedType: storedTypeName(ordered[0].layout),
    dicom: {
      studyInstanceUid: series.studyInstanceUid,
      seriesInstanceUid: series.seriesInstanceUid,
      frameOfReferenceUid: series.frameOfReferenceUid,
      sopClassUid: series.sopClassUid,
      sopInstanceUids: ordered.map((slice) => slice.sopInstanceUid),
      patientId: series.patientId,
      patientName: series.patientName,
      studyDate: series.studyDate,
      seriesDescription: series.seriesDescription,
      ...(new Set(sliceSeries).size > 1 ? { sliceSeriesUids: sliceSeries } : {}),
    },
  };
}

function modalityOf(modality: string | undefined): Modality {
  return modality === 'CT' || modality === 'MR' || modality === 'PT' ? modality : 'unknown';
}
