import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { MedparseError } from '../core/errors.js';
import type { ProgressCallback } from '../core/progress.js';
import type { Volume } from '../core/volume.js';
import { bytesPerVoxel } from '../core/volume.js';
import { admitVolume, type AdmitOptions, type OpenedVolume, type VolumeHeader } from './admit.js';
import { isGzip, storedBytesPerVoxel } from './binary.js';
import { formatFromContent, formatFromExtension, SUPPORTED_INPUTS, type ImageFormat } from './formats.js';
import { readBounded, TRAILER_ALLOWANCE, type Compression } from './bounded-read.js';
import { resolveDetachedFile } from './detached-file.js';
import { openDicomSeries } from './dicom/index.js';
import { chooseFrame, type FrameOptions } from './frames.js';
import { decodeMetaImagePayload, metaImagePayloadBytes, parseMetaImageHeader } from './metaimage.js';
import { decodeMgh, mghDataExtent } from './mgh.js';
import { decodeNifti, niftiDataExtent, parseNiftiHeader } from './nifti.js';
import { decodeNrrdPayload, nrrdPayloadBytes, parseNrrdHeader } from './nrrd.js';

export type { OpenedVolume, VolumeHeader } from './admit.js';
export { formatFromContent, formatFromExtension, SUPPORTED_INPUTS, type ImageFormat } from './formats.js';

export interface ReadOptions extends FrameOptions, AdmitOptions {
  /** SeriesInstanceUID to read from a DICOM folder or zip that holds several series. */
  series?: string;
  onProgress?: ProgressCallback;
}

/** Enough of a file's first bytes for any header medparse reads (text headers must end within it). */
const HEADER_PROBE_BYTES = 1 << 20;

/**
 * Reads one 3D volume from any supported format. The format comes from the extension and is
 * confirmed by the file's content, so a mislabelled file is reported instead of misread. Nothing
 * in a header is trusted: the header is parsed first, checked (`checkHeader`, `maxVoxelBytes`),
 * and only then are the voxel bytes it needs read, inflating compressed data no further than that.
 */
export async function readVolume(path: string, options: ReadOptions = {}): Promise<Volume> {
  const opened = await openVolume(path, options);
  const volume = await opened.load();
  if (opened.header.format !== 'dicom') options.onProgress?.({ stage: 'read', fraction: 1 });
  return volume;
}

/**
 * The checks readVolume makes before it reads a voxel (format, header fields, frame or series
 * choice, size), without reading any: is this an image medparse can read, and what grid is it?
 */
export async function readVolumeHeader(path: string, options: ReadOptions = {}): Promise<VolumeHeader> {
  return (await openVolume(path, options)).header;
}

/** Parses and admits the header; the returned `load` reads the voxels. */
export async function openVolume(path: string, options: ReadOptions = {}): Promise<OpenedVolume> {
  const stat = statOrThrow(path);
  if (stat.isDirectory()) return openDicomSeries(path, options);
  if (!stat.isFile())
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      'is not a regular file (a FIFO, device or socket); give an image file, a DICOM folder or a .zip',
      path,
    );
  if (stat.size === 0) throw new MedparseError('EMPTY_INPUT', 'file is empty (0 bytes)', path);
  const byExtension = formatFromExtension(path);
  if (byExtension === 'dicom') return openDicomSeries(path, options);
  options.onProgress?.({ stage: 'read', fraction: 0, message: `reading ${path}` });
  const fileGzip = await isGzipFile(path);
  const head = await readBounded(path, { fileGzip, keep: HEADER_PROBE_BYTES });
  const byContent = formatFromContent(head);
  if (!byExtension) {
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `the extension "${extname(path)}" is not a format medparse reads${byContent ? ` (the content looks like ${byContent}: rename the file)` : ''}; supported: ${SUPPORTED_INPUTS}`,
      path,
    );
  }
  if (byContent && byContent !== byExtension) {
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `the extension says ${byExtension} but the content is ${byContent}; rename the file to match its content`,
      path,
    );
  }
  return openByFormat(byExtension, { path, fileGzip, head }, options);
}

/** The file being read: its path, whether it is gzip as a whole, and its first (inflated) bytes. */
interface OpenedFile {
  path: string;
  fileGzip: boolean;
  head: Uint8Array;
}

function openByFormat(format: ImageFormat, file: OpenedFile, options: ReadOptions): OpenedVolume {
  switch (format) {
    case 'nifti':
      return openNifti(file, options);
    case 'mgh':
      return openMgh(file, options);
    case 'nrrd':
      return openNrrd(file, options);
    case 'metaimage':
      return openMetaImage(file, options);
    case 'dicom':
      throw new Error('DICOM is read from its folder or zip, not decoded from bytes');
  }
}

/** Single .nii files hold their voxels after the header; Analyze-style pairs keep them in .img. */
function openNifti({ path, fileGzip, head }: OpenedFile, options: ReadOptions): OpenedVolume {
  const parsed = parseNiftiHeader(head, path);
  const extent = niftiDataExtent(parsed, path, options);
  const header = admitVolume(
    { file: path, format: 'nifti', dims: extent.dims, bytesPerVoxel: extent.bytesPerVoxel },
    options,
  );
  if (parsed.magic === 'n+1' || parsed.magic === 'n+2') {
    const load = async () => {
      const bytes = await readBounded(path, { fileGzip, ...voxelBounds(extent, fileGzip) });
      return decodeNifti(parsed, bytes, parsed.voxOffset, path, options);
    };
    return { header, load };
  }
  const imagePath = path.replace(/\.hdr(\.gz)?$/i, '.img$1');
  if (imagePath === path)
    throw new MedparseError(
      'CORRUPT_FILE',
      `header magic "${parsed.magic}" means a .hdr/.img pair, but this file is not a .hdr`,
      path,
    );
  statOrThrow(imagePath);
  const load = async () => {
    const imageGzip = await isGzipFile(imagePath);
    const image = await readBounded(imagePath, { fileGzip: imageGzip, ...voxelBounds(extent, imageGzip) });
    return decodeNifti(parsed, image, parsed.voxOffset, imagePath, options);
  };
  return { header, load };
}

function openMgh({ path, fileGzip, head }: OpenedFile, options: ReadOptions): OpenedVolume {
  const extent = mghDataExtent(head, path, options);
  const header = admitVolume(
    { file: path, format: 'mgh', dims: extent.dims, bytesPerVoxel: extent.bytesPerVoxel },
    options,
  );
  const load = async () =>
    decodeMgh(await readBounded(path, { fileGzip, ...voxelBounds(extent, fileGzip) }), path, options);
  return { header, load };
}

/**
 * Keep what the chosen frame needs; a compressed file may inflate to all frames plus a trailer
 * (MGH's tags) and no further.
 */
function voxelBounds(extent: { frameEnd: number; dataEnd: number }, compressed: boolean) {
  return { keep: extent.frameEnd, ceiling: compressed ? extent.dataEnd + TRAILER_ALLOWANCE : undefined };
}

function openNrrd(file: OpenedFile, options: ReadOptions): OpenedVolume {
  const parsed = parseNrrdHeader(file.head, file.path);
  const dataFile = detachedFile(file.path, parsed.dataFileName, 'NRRD "data file:"');
  const { dims, frames } = parsed.geometry;
  chooseFrame(frames, options, file.path);
  const header = admitVolume(
    { file: file.path, format: 'nrrd', dims, bytesPerVoxel: bytesPerVoxel(parsed.type) },
    options,
  );
  const load = async () => {
    const compression = parsed.encoding === 'gzip' ? 'gzip' : 'none';
    const payload = await readPayload(file, { ...parsed, dataFile }, compression, nrrdPayloadBytes(parsed));
    return decodeNrrdPayload(parsed, payload, file.path, options);
  };
  return { header, load };
}

function openMetaImage(file: OpenedFile, options: ReadOptions): OpenedVolume {
  const parsed = parseMetaImageHeader(file.head, file.path);
  const dataFile = detachedFile(file.path, parsed.dataFileName, 'MetaImage ElementDataFile');
  chooseFrame(parsed.frames, options, file.path);
  const header = admitVolume(
    { file: file.path, format: 'metaimage', dims: parsed.dims, bytesPerVoxel: storedBytesPerVoxel(parsed.stored) },
    options,
  );
  const load = async () => {
    const compression = parsed.compressed ? 'zlib' : 'none';
    const payload = await readPayload(file, { ...parsed, dataFile }, compression, metaImagePayloadBytes(parsed));
    return decodeMetaImagePayload(parsed, payload, file.path, options);
  };
  return { header, load };
}

/** The data file a text header names, resolved safely beside it; undefined when the data are attached. */
function detachedFile(headerPath: string, named: string | undefined, field: string): string | undefined {
  return named === undefined ? undefined : resolveDetachedFile(headerPath, named, field);
}

/**
 * The payload of a text-header format: attached after the header (in the same, possibly gzipped,
 * file) or in its checked data file; read and inflated no further than the header needs.
 */
async function readPayload(
  file: OpenedFile,
  header: { dataFile: string | undefined; dataStart: number | undefined },
  compression: Compression,
  need: { keep: number; tail: boolean },
): Promise<Uint8Array> {
  const path = header.dataFile ?? file.path;
  const fileGzip = header.dataFile ? false : file.fileGzip;
  let skip = header.dataStart ?? 0;
  const compressed = fileGzip || compression !== 'none';
  if (!compressed && need.tail) {
    // the data are the file's last bytes: start there instead of reading what comes before
    skip = Math.max(skip, statOrThrow(path).size - need.keep);
    return readBounded(path, { skip, keep: need.keep });
  }
  const keep = need.tail ? need.keep + TRAILER_ALLOWANCE : need.keep;
  return readBounded(path, {
    fileGzip,
    skip,
    compression,
    keep,
    ceiling: compressed ? need.keep + TRAILER_ALLOWANCE : undefined,
  });
}

async function isGzipFile(path: string): Promise<boolean> {
  return isGzip(await readBounded(path, { keep: 2 }));
}

function statOrThrow(path: string) {
  try {
    return statSync(path);
  } catch {
    throw new MedparseError('FILE_NOT_FOUND', 'no such file or folder; check the path', path);
  }
}
