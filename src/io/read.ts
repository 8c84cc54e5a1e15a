import { extname } from 'node:path';
import { MedparseError } from '../core/errors.js';
import type { ProgressCallback } from '../core/progress.js';
import type { Volume } from '../core/volume.js';
import { admitVolume, type AdmitOptions, type OpenedVolume, type VolumeHeader } from './admit.js';
import { openDicomSeries } from './dicom/index.js';
import { fileSource, statOrThrow } from './file-source.js';
import { formatFromExtension, SUPPORTED_INPUTS } from './formats.js';
import type { FrameOptions } from './frames.js';
import { openImage, probeImage } from './open-image.js';

export type { OpenedVolume, VolumeHeader } from './admit.js';
export { formatFromContent, formatFromExtension, SUPPORTED_INPUTS, type ImageFormat } from './formats.js';

export interface ReadOptions extends FrameOptions, AdmitOptions {
  /** SeriesInstanceUID to read from a DICOM folder or zip that holds several series. */
  series?: string;
  onProgress?: ProgressCallback;
}

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
  const image = await probeImage(fileSource(path));
  const byContent = image.byContent;
  if (!byExtension) {
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `the extension "${extname(path)}" is not a format medparse reads${byContent ? ` (the content looks like ${byContent}: rename the file)` : ''}; supported: ${SUPPORTED_INPUTS}`,
      path,
    );
  }
  // one front end with the browser's reader (open-image.ts); admitted here against memory and checkHeader
  const { header, load } = openImage(byExtension, image, options, (header) => admitVolume(header, options));
  return { header, load };
}
