/**
 * Reading a volume from a file's bytes in memory, without a file system: the in-browser engine's reader
 * (issue 21). The same parsers and decoders as readVolume on Node (nifti.ts, mgh.ts, nrrd.ts,
 * metaimage.ts), for single files: NIfTI (.nii, .nii.gz), MGH (.mgh, .mgz), NRRD with attached data
 * (.nrrd) and MetaImage with its data inline (.mha). Compressed data are inflated with the web
 * platform's DecompressionStream (browsers and Node alike), bounded as readBounded bounds them: never
 * past what the header needs, and a stream that would inflate well past it is refused.
 */
import type { Vec3 } from '../core/affine.js';
import { MedparseError } from '../core/errors.js';
import { bytesPerVoxel, spacingOf, statedSpacing, type Volume } from '../core/volume.js';
import type { VolumeHeader } from './admit.js';
import { isGzip, storedBytesPerVoxel } from './binary.js';
import { formatFromContent, formatFromExtension, type ImageFormat } from './formats.js';
import { chooseFrame, type FrameOptions } from './frames.js';
import { decodeMetaImagePayload, metaImagePayloadBytes, modalityOf, parseMetaImageHeader } from './metaimage.js';
import { decodeMgh, mghDataExtent } from './mgh.js';
import { decodeNifti, niftiDataExtent, parseNiftiHeader } from './nifti.js';
import { bestAffine } from './nifti-geometry.js';
import { parseNumberList } from './text-header.js';
import { decodeNrrdPayload, nrrdPayloadBytes, parseNrrdHeader } from './nrrd.js';

/** What the in-browser engine reads: one file holding header and voxels. */
export const SINGLE_FILE_INPUTS =
  'NIfTI (.nii, .nii.gz), MGH (.mgh, .mgz), NRRD with attached data (.nrrd) or MetaImage with its data inline (.mha)';

/** Enough of a file's first (inflated) bytes for any header medparse reads, as read.ts probes. */
const HEADER_PROBE_BYTES = 1 << 20;

/** Headroom for what compressed data may hold after the voxels (MGH's tags, padding), as bounded-read.ts. */
const TRAILER_ALLOWANCE = 1 << 20;

/** A header's facts, and the voxel size and modality a memory estimate plans with. */
export interface BytesHeader extends VolumeHeader {
  spacing: Vec3;
  /** CT or MR when the file says so (MetaImage's Modality); undefined when it does not. */
  modality?: 'CT' | 'MR';
}

/** A single image file's header, read; `load` decodes its voxels. */
export interface OpenedBytes {
  header: BytesHeader;
  load(): Promise<Volume>;
}

/** The file's bytes, its name (for the format and for messages) and whether it is gzip as a whole. */
interface BytesFile {
  bytes: Uint8Array;
  name: string;
  fileGzip: boolean;
  /** The first inflated bytes: the header. */
  head: Uint8Array;
}

/** Reads one volume from a single image file's bytes. */
export async function readVolumeBytes(bytes: Uint8Array, name: string, options: FrameOptions = {}): Promise<Volume> {
  return (await openVolumeBytes(bytes, name, options)).load();
}

/**
 * Parses the header of a single image file's bytes (format from the name, confirmed by the content);
 * `load` decodes the voxels. Nothing is inflated past the header before `load`.
 */
export async function openVolumeBytes(
  bytes: Uint8Array,
  name: string,
  options: FrameOptions = {},
): Promise<OpenedBytes> {
  if (bytes.length === 0) throw new MedparseError('EMPTY_INPUT', 'file is empty (0 bytes)', name);
  const format = formatFromExtension(name);
  if (format === 'dicom' || format === undefined)
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `${format === 'dicom' ? 'DICOM is' : 'this extension is'} not read here; this reader reads ${SINGLE_FILE_INPUTS}`,
      name,
    );
  const fileGzip = isGzip(bytes);
  const head = fileGzip ? await inflate(bytes, 'gzip', name, HEADER_PROBE_BYTES) : bytes;
  const byContent = formatFromContent(head);
  if (byContent && byContent !== format)
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `the extension says ${format} but the content is ${byContent}; rename the file to match its content`,
      name,
    );
  return openFormat(format, { bytes, name, fileGzip, head }, options);
}

function openFormat(format: Exclude<ImageFormat, 'dicom'>, file: BytesFile, options: FrameOptions): OpenedBytes {
  switch (format) {
    case 'nifti':
      return openNifti(file, options);
    case 'mgh':
      return openMgh(file, options);
    case 'nrrd':
      return openNrrd(file, options);
    case 'metaimage':
      return openMetaImage(file, options);
  }
}

function openNifti(file: BytesFile, options: FrameOptions): OpenedBytes {
  const parsed = parseNiftiHeader(file.head, file.name);
  if (parsed.magic !== 'n+1' && parsed.magic !== 'n+2')
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      'is the header of a .hdr/.img pair; save the image as one .nii or .nii.gz file',
      file.name,
    );
  const extent = niftiDataExtent(parsed, file.name, options);
  const affine = bestAffine(parsed.geometry, extent.dims);
  const header = headerOf(
    file,
    'nifti',
    extent,
    spacingOf({ affine, ...statedSpacing(parsed.geometry.pixdim.map(Math.abs)) }),
  );
  const load = async () =>
    decodeNifti(parsed, await whole(file, extent.frameEnd), parsed.voxOffset, file.name, options);
  return { header, load };
}

function openMgh(file: BytesFile, options: FrameOptions): OpenedBytes {
  const extent = mghDataExtent(file.head, file.name, options);
  const header = headerOf(file, 'mgh', extent, extent.spacing);
  const load = async () => decodeMgh(await whole(file, extent.frameEnd), file.name, options);
  return { header, load };
}

function openNrrd(file: BytesFile, options: FrameOptions): OpenedBytes {
  const parsed = parseNrrdHeader(file.head, file.name);
  refuseDetached(parsed.dataFileName, 'NRRD "data file:"', 'a .nrrd with attached data', file.name);
  const { dims, frames } = parsed.geometry;
  chooseFrame(frames, options, file.name);
  const extent = { dims, bytesPerVoxel: bytesPerVoxel(parsed.type) };
  const header = headerOf(file, 'nrrd', extent, spacingOf({ affine: parsed.geometry.affine }));
  const load = async () => {
    const compression = parsed.encoding === 'gzip' ? 'gzip' : undefined;
    const payload = await attachedPayload(file, parsed.dataStart ?? 0, compression, nrrdPayloadBytes(parsed));
    return decodeNrrdPayload(parsed, payload, file.name, options);
  };
  return { header, load };
}

function openMetaImage(file: BytesFile, options: FrameOptions): OpenedBytes {
  const parsed = parseMetaImageHeader(file.head, file.name);
  refuseDetached(parsed.dataFileName, 'MetaImage ElementDataFile', 'an .mha with ElementDataFile = LOCAL', file.name);
  chooseFrame(parsed.frames, options, file.name);
  const extent = { dims: parsed.dims, bytesPerVoxel: storedBytesPerVoxel(parsed.stored) };
  const stated = parseNumberList(parsed.fields.get('ElementSpacing') ?? parsed.fields.get('ElementSize') ?? '');
  const header = headerOf(file, 'metaimage', extent, statedSpacing(stated).spacing ?? [1, 1, 1]);
  const modality = modalityOf(parsed.fields.get('Modality'));
  if (modality === 'CT' || modality === 'MR') header.modality = modality;
  const load = async () => {
    // MetaImage's CompressedData is a zlib stream: the web's "deflate" format
    const compression = parsed.compressed ? 'deflate' : undefined;
    const payload = await attachedPayload(file, parsed.dataStart ?? 0, compression, metaImagePayloadBytes(parsed));
    return decodeMetaImagePayload(parsed, payload, file.name, options);
  };
  return { header, load };
}

function headerOf(
  file: BytesFile,
  format: VolumeHeader['format'],
  extent: Pick<VolumeHeader, 'dims' | 'bytesPerVoxel'>,
  spacing: readonly number[],
): BytesHeader {
  const voxelSize: Vec3 = [spacing[0], spacing[1], spacing[2]];
  return { file: file.name, format, dims: extent.dims, bytesPerVoxel: extent.bytesPerVoxel, spacing: voxelSize };
}

/** A data file beside the header cannot be reached without a file system: say what to open instead. */
function refuseDetached(named: string | undefined, field: string, instead: string, name: string): void {
  if (named === undefined) return;
  throw new MedparseError(
    'UNSUPPORTED_FORMAT',
    `${field} names a separate data file ("${named}"), which cannot be read here; open ${instead}, or read it on the server`,
    name,
  );
}

/** The file's (inflated) bytes up to `end`: a whole-file gzip is inflated no further. */
async function whole(file: BytesFile, end: number): Promise<Uint8Array> {
  if (!file.fileGzip) return file.bytes;
  return inflate(file.bytes, 'gzip', file.name, end, end + TRAILER_ALLOWANCE);
}

/**
 * The payload attached after a text header (from `dataStart` of the file's inflated bytes), itself
 * inflated when the format compresses it; bounded by what the header needs, as read.ts's readPayload.
 */
async function attachedPayload(
  file: BytesFile,
  dataStart: number,
  compression: 'gzip' | 'deflate' | undefined,
  need: { keep: number; tail: boolean },
): Promise<Uint8Array> {
  const ceiling = need.keep + TRAILER_ALLOWANCE;
  // a whole-file gzip: all of it, as what follows the header runs to its end
  const body = file.fileGzip ? await inflate(file.bytes, 'gzip', file.name, Infinity, dataStart + ceiling) : file.bytes;
  const payload = body.subarray(dataStart);
  if (!compression) return payload;
  return inflate(payload, compression, file.name, need.tail ? ceiling : need.keep, ceiling);
}

/**
 * Inflates `bytes` and keeps the first `keep` bytes. Without a `ceiling` it stops there (a header
 * probe); with one, the rest of the stream is inflated (not kept) up to it, and a stream longer than
 * that is refused as a decompression bomb.
 */
export async function inflate(
  bytes: Uint8Array,
  format: 'gzip' | 'deflate',
  name: string,
  keep: number,
  ceiling?: number,
): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream(format));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let [kept, total] = [0, 0];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (ceiling !== undefined && total > ceiling)
        throw new MedparseError(
          'CORRUPT_FILE',
          `inflates past the ${ceiling} bytes its header describes (a decompression bomb, or a corrupt header); refused`,
          name,
        );
      if (kept < keep) {
        const part = value.subarray(0, Math.min(value.length, keep - kept));
        chunks.push(part);
        kept += part.length;
      }
      if (ceiling === undefined && kept >= keep) break;
    }
  } catch (error) {
    if (error instanceof MedparseError) throw error;
    throw new MedparseError(
      'TRUNCATED_FILE',
      `its ${format} data end early or are corrupt (${error instanceof Error ? error.message : String(error)}); the file is incomplete`,
      name,
    );
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return concat(chunks, kept);
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
