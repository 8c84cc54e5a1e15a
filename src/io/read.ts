import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { MedparseError } from '../core/errors.js';
import type { ProgressCallback } from '../core/progress.js';
import type { Volume } from '../core/volume.js';
import { gunzipOrThrow, isGzip } from './binary.js';
import { readDicomSeries } from './dicom/index.js';
import type { FrameOptions } from './frames.js';
import { decodeMetaImage } from './metaimage.js';
import { decodeMgh } from './mgh.js';
import { decodeNifti, parseNiftiHeader } from './nifti.js';
import { decodeNrrd } from './nrrd.js';

export interface ReadOptions extends FrameOptions {
  /** SeriesInstanceUID to read from a DICOM folder or zip that holds several series. */
  series?: string;
  onProgress?: ProgressCallback;
}

export type ImageFormat = 'nifti' | 'mgh' | 'nrrd' | 'metaimage' | 'dicom';

const EXTENSIONS: Array<[RegExp, ImageFormat]> = [
  [/\.(nii|nii\.gz|hdr|img|img\.gz|hdr\.gz)$/i, 'nifti'],
  [/\.(mgh|mgz|mgh\.gz)$/i, 'mgh'],
  [/\.(nrrd|nhdr)$/i, 'nrrd'],
  [/\.(mha|mhd)$/i, 'metaimage'],
  [/\.(dcm|zip)$/i, 'dicom'],
];

export const SUPPORTED_INPUTS =
  'NIfTI (.nii, .nii.gz, .hdr/.img), MGH (.mgh, .mgz), NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd), or DICOM (a folder or .zip of one series)';

/**
 * Reads one 3D volume from any supported format. The format comes from the extension and is
 * confirmed by the file's content, so a mislabelled file is reported instead of misread.
 */
export async function readVolume(path: string, options: ReadOptions = {}): Promise<Volume> {
  const stat = statOrThrow(path);
  if (stat.isDirectory()) return readDicomSeries(path, options);
  if (stat.size === 0) throw new MedparseError('EMPTY_INPUT', 'file is empty (0 bytes)', path);
  const byExtension = formatFromExtension(path);
  if (byExtension === 'dicom') return readDicomSeries(path, options);
  options.onProgress?.({ stage: 'read', fraction: 0, message: `reading ${path}` });
  const raw = readFileSync(path);
  const bytes = isGzip(raw) ? gunzipOrThrow(raw, path) : raw;
  const byContent = formatFromContent(bytes);
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
  const volume = decodeByFormat(byExtension, bytes, path, options);
  options.onProgress?.({ stage: 'read', fraction: 1 });
  return volume;
}

function decodeByFormat(format: ImageFormat, bytes: Uint8Array, path: string, options: ReadOptions): Volume {
  switch (format) {
    case 'nifti':
      return decodeNiftiFile(bytes, path, options);
    case 'mgh':
      return decodeMgh(bytes, path, options);
    case 'nrrd':
      return decodeNrrd(bytes, path, options);
    case 'metaimage':
      return decodeMetaImage(bytes, path, options);
    case 'dicom':
      throw new Error('DICOM is read from its folder or zip, not decoded from bytes');
  }
}

/** Single .nii files hold their voxels after the header; Analyze-style pairs keep them in .img. */
function decodeNiftiFile(bytes: Uint8Array, path: string, options: FrameOptions): Volume {
  const header = parseNiftiHeader(bytes, path);
  if (header.magic === 'n+1' || header.magic === 'n+2')
    return decodeNifti(header, bytes, header.voxOffset, path, options);
  const imagePath = path.replace(/\.hdr(\.gz)?$/i, '.img$1');
  if (imagePath === path)
    throw new MedparseError(
      'CORRUPT_FILE',
      `header magic "${header.magic}" means a .hdr/.img pair, but this file is not a .hdr`,
      path,
    );
  statOrThrow(imagePath);
  const imageRaw = readFileSync(imagePath);
  const image = isGzip(imageRaw) ? gunzipOrThrow(imageRaw, imagePath) : imageRaw;
  return decodeNifti(header, image, header.voxOffset, imagePath, options);
}

export function formatFromExtension(path: string): ImageFormat | undefined {
  return EXTENSIONS.find(([pattern]) => pattern.test(path))?.[1];
}

/** Recognises a format from its first bytes (after gunzip); undefined when nothing matches. */
export function formatFromContent(bytes: Uint8Array): ImageFormat | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64));
  if (head.startsWith('NRRD000')) return 'nrrd';
  if (/^\s*(ObjectType|NDims|Comment|TransformType)\s*=/.test(head)) return 'metaimage';
  if (bytes.length > 132 && new TextDecoder('latin1').decode(bytes.subarray(128, 132)) === 'DICM') return 'dicom';
  if (bytes.length >= 348) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = view.getInt32(0, true);
    const swapped = view.getInt32(0, false);
    if (size === 348 || size === 540 || swapped === 348 || swapped === 540) return 'nifti';
    if (swapped === 1 && bytes.length >= 284 && view.getInt32(4, false) > 0) return 'mgh';
  }
  return undefined;
}

function statOrThrow(path: string) {
  try {
    return statSync(path);
  } catch {
    throw new MedparseError('FILE_NOT_FOUND', 'no such file or folder; check the path', path);
  }
}
