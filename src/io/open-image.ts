/**
 * The readers' one front end for single-file formats (NIfTI, MGH, NRRD, MetaImage): the format's
 * dispatch and its opening steps (parse the header, check it, admit it, plan the bounded voxel read),
 * over a ByteSource. readVolume on Node (read.ts) gives it a file, the in-browser engine
 * (read-bytes.ts) a file's bytes; what differs (streaming, detached files, inflation) is the source's.
 * Nothing here imports Node: browser bundles import it.
 */
import type { Mat4, Vec3 } from '../core/affine.js';
import { MedparseError } from '../core/errors.js';
import { bytesPerVoxel, spacingOf, statedSpacing } from '../core/volume.js';
import type { OpenedVolume, VolumeHeader } from './admit.js';
import { storedBytesPerVoxel } from './binary.js';
import { isGzipSource, TRAILER_ALLOWANCE, type ByteSource, type Compression } from './byte-source.js';
import { formatFromContent, type ImageFormat } from './formats.js';
import { chooseFrame, type FrameOptions } from './frames.js';
import { decodeMetaImagePayload, metaImagePayloadBytes, modalityOf, parseMetaImageHeader } from './metaimage.js';
import { decodeMgh, mghDataExtent } from './mgh.js';
import { decodeNifti, niftiDataExtent, parseNiftiHeader } from './nifti.js';
import { bestAffine } from './nifti-geometry.js';
import { decodeNrrdPayload, nrrdPayloadBytes, parseNrrdHeader } from './nrrd.js';
import { parseNumberList } from './text-header.js';

/** Enough of a file's first (inflated) bytes for any header medparse reads (text headers must end within it). */
const HEADER_PROBE_BYTES = 1 << 20;

/** The formats one file (or a header and the data file it names) holds; DICOM is a series, read elsewhere. */
export type SingleFileFormat = Exclude<ImageFormat, 'dicom'>;

/** A source whose first bytes are read: whether it is gzip as a whole, its header bytes, their format. */
export interface ProbedImage {
  source: ByteSource;
  fileGzip: boolean;
  /** The first (inflated) bytes: the header. */
  head: Uint8Array;
  /** The format the content shows; undefined when nothing matches. */
  byContent: ImageFormat | undefined;
}

/** A header, read and admitted; `load` reads the voxels, no further than the header needs. */
export interface OpenedImage extends OpenedVolume {
  /** The voxel size in mm the header states (what a memory estimate plans with). */
  spacing(): Vec3;
  /** CT or MR when the file says so (MetaImage's Modality). */
  modality?: 'CT' | 'MR';
  /**
   * The affine the header states, where it may be sheared (NIfTI, NRRD): a memory estimate counts the
   * straightened grid a tilted scan is worked on. MGH's direction cosines are orthonormal.
   */
  affine?(): Mat4;
}

/**
 * Refuses a header (throws) or accepts it; on Node, admitVolume (memory and the caller's checks).
 * Called before any voxel is read.
 */
export type AdmitHeader = (header: VolumeHeader) => VolumeHeader;

/** Reads the first bytes of a source: enough for any header. */
export async function probeImage(source: ByteSource): Promise<ProbedImage> {
  const fileGzip = await isGzipSource(source);
  const head = await source.read({ fileGzip, keep: HEADER_PROBE_BYTES });
  return { source, fileGzip, head, byContent: formatFromContent(head) };
}

/**
 * Opens a probed image as `format` (from its name), confirmed by its content so that a mislabelled
 * file is reported instead of misread.
 */
export function openImage(
  format: SingleFileFormat,
  image: ProbedImage,
  options: FrameOptions = {},
  admit: AdmitHeader = (header) => header,
): OpenedImage {
  if (image.byContent && image.byContent !== format) {
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `the extension says ${format} but the content is ${image.byContent}; rename the file to match its content`,
      image.source.name,
    );
  }
  const context = { ...image, options, admit };
  switch (format) {
    case 'nifti':
      return openNifti(context);
    case 'mgh':
      return openMgh(context);
    case 'nrrd':
      return openNrrd(context);
    case 'metaimage':
      return openMetaImage(context);
  }
}

interface OpenContext extends ProbedImage {
  options: FrameOptions;
  admit: AdmitHeader;
}

/** Single .nii files hold their voxels after the header; Analyze-style pairs keep them in .img. */
function openNifti({ source, fileGzip, head, options, admit }: OpenContext): OpenedImage {
  const parsed = parseNiftiHeader(head, source.name);
  const extent = niftiDataExtent(parsed, source.name, options);
  const header = admit({ file: source.name, format: 'nifti', dims: extent.dims, bytesPerVoxel: extent.bytesPerVoxel });
  const attached = parsed.magic === 'n+1' || parsed.magic === 'n+2';
  const voxels = attached ? source : pairedImage(source, parsed.magic);
  const load = async () => {
    const gzip = attached ? fileGzip : await isGzipSource(voxels);
    const bytes = await voxels.read({ fileGzip: gzip, ...voxelBounds(extent, gzip) });
    return decodeNifti(parsed, bytes, parsed.voxOffset, voxels.name, options);
  };
  const affine = () => bestAffine(parsed.geometry, extent.dims);
  const spacing = () => spacingOf({ affine: affine(), ...statedSpacing(parsed.geometry.pixdim.map(Math.abs)) });
  return { header, load, spacing, affine };
}

/** The .img beside a .hdr whose magic says the voxels are there. */
function pairedImage(source: ByteSource, magic: string): ByteSource {
  const imageName = source.name.replace(/\.hdr(\.gz)?$/i, '.img$1');
  if (imageName === source.name)
    throw new MedparseError(
      'CORRUPT_FILE',
      `header magic "${magic}" means a .hdr/.img pair, but this file is not a .hdr`,
      source.name,
    );
  return source.pairedImage(imageName);
}

function openMgh({ source, fileGzip, head, options, admit }: OpenContext): OpenedImage {
  const extent = mghDataExtent(head, source.name, options);
  const header = admit({ file: source.name, format: 'mgh', dims: extent.dims, bytesPerVoxel: extent.bytesPerVoxel });
  const load = async () =>
    decodeMgh(await source.read({ fileGzip, ...voxelBounds(extent, fileGzip) }), source.name, options);
  return { header, load, spacing: () => vec3(extent.spacing) };
}

/**
 * Keep what the chosen frame needs; a compressed file may inflate to all frames plus a trailer
 * (MGH's tags) and no further.
 */
function voxelBounds(extent: { frameEnd: number; dataEnd: number }, compressed: boolean) {
  return { keep: extent.frameEnd, ceiling: compressed ? extent.dataEnd + TRAILER_ALLOWANCE : undefined };
}

function openNrrd(image: OpenContext): OpenedImage {
  const { source, options } = image;
  const parsed = parseNrrdHeader(image.head, source.name);
  const dataFile = detached(source, parsed.dataFileName, 'NRRD "data file:"', 'a .nrrd with attached data');
  const { dims, frames, affine } = parsed.geometry;
  chooseFrame(frames, options, source.name);
  const header = image.admit({ file: source.name, format: 'nrrd', dims, bytesPerVoxel: bytesPerVoxel(parsed.type) });
  const load = async () => {
    const compression = parsed.encoding === 'gzip' ? 'gzip' : 'none';
    const payload = await readPayload(image, { ...parsed, dataFile }, compression, nrrdPayloadBytes(parsed));
    return decodeNrrdPayload(parsed, payload, source.name, options);
  };
  return { header, load, spacing: () => spacingOf({ affine }), affine: () => affine };
}

function openMetaImage(image: OpenContext): OpenedImage {
  const { source, options } = image;
  const parsed = parseMetaImageHeader(image.head, source.name);
  const dataFile = detached(
    source,
    parsed.dataFileName,
    'MetaImage ElementDataFile',
    'an .mha with ElementDataFile = LOCAL',
  );
  chooseFrame(parsed.frames, options, source.name);
  const header = image.admit({
    file: source.name,
    format: 'metaimage',
    dims: parsed.dims,
    bytesPerVoxel: storedBytesPerVoxel(parsed.stored),
  });
  const load = async () => {
    const compression = parsed.compressed ? 'zlib' : 'none';
    const payload = await readPayload(image, { ...parsed, dataFile }, compression, metaImagePayloadBytes(parsed));
    return decodeMetaImagePayload(parsed, payload, source.name, options);
  };
  const stated = parseNumberList(parsed.fields.get('ElementSpacing') ?? parsed.fields.get('ElementSize') ?? '');
  const opened: OpenedImage = { header, load, spacing: () => statedSpacing(stated).spacing ?? [1, 1, 1] };
  const modality = modalityOf(parsed.fields.get('Modality'));
  if (modality === 'CT' || modality === 'MR') opened.modality = modality;
  return opened;
}

/** The data file a text header names, as its source gives it; undefined when the data are attached. */
function detached(
  source: ByteSource,
  named: string | undefined,
  field: string,
  attachedForm: string,
): ByteSource | undefined {
  return named === undefined ? undefined : source.detached(named, field, attachedForm);
}

/**
 * The payload of a text-header format: attached after the header (in the same, possibly gzipped,
 * file) or in its data file; read and inflated no further than the header needs.
 */
async function readPayload(
  image: ProbedImage,
  header: { dataFile: ByteSource | undefined; dataStart: number | undefined },
  compression: Compression,
  need: { keep: number; tail: boolean },
): Promise<Uint8Array> {
  const source = header.dataFile ?? image.source;
  const fileGzip = header.dataFile ? false : image.fileGzip;
  let skip = header.dataStart ?? 0;
  const compressed = fileGzip || compression !== 'none';
  if (!compressed && need.tail) {
    // the data are the file's last bytes: start there instead of reading what comes before
    skip = Math.max(skip, source.size() - need.keep);
    return source.read({ skip, keep: need.keep });
  }
  const keep = need.tail ? need.keep + TRAILER_ALLOWANCE : need.keep;
  return source.read({
    fileGzip,
    skip,
    compression,
    keep,
    ceiling: compressed ? need.keep + TRAILER_ALLOWANCE : undefined,
  });
}

function vec3(values: readonly number[]): Vec3 {
  return [values[0], values[1], values[2]];
}
