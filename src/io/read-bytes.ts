/**
 * Reading a volume from a file's bytes in memory, without a file system: the in-browser engine's reader
 * (issue 21). The same front end as readVolume on Node (open-image.ts: each format's dispatch and
 * opening steps), over the file's bytes (buffer-source.ts), for single files: NIfTI (.nii, .nii.gz),
 * MGH (.mgh, .mgz), NRRD with attached data (.nrrd) and MetaImage with its data inline (.mha).
 * Compressed data are inflated with the web platform's DecompressionStream, bounded as readBounded
 * bounds them: never past what the header needs, and a stream that would inflate well past it is refused.
 */
import type { Mat4, Vec3 } from '../core/affine.js';
import { MedparseError } from '../core/errors.js';
import type { Volume } from '../core/volume.js';
import type { VolumeHeader } from './admit.js';
import { bufferSource } from './buffer-source.js';
import { formatFromExtension } from './formats.js';
import type { FrameOptions } from './frames.js';
import { openImage, probeImage } from './open-image.js';
import { openDicomSeriesFrom, type DicomSeriesOptions } from './dicom/read.js';
import { memoryDicomInput, type NamedBytes } from './dicom/sources.js';

export { inflate } from './buffer-source.js';

/** What the in-browser engine reads: one file holding header and voxels. */
export const SINGLE_FILE_INPUTS =
  'NIfTI (.nii, .nii.gz), MGH (.mgh, .mgz), NRRD with attached data (.nrrd) or MetaImage with its data inline (.mha)';

/** A header's facts, and the voxel size, affine and modality a memory estimate plans with. */
export interface BytesHeader extends VolumeHeader {
  spacing: Vec3;
  /** The affine the header states, where the format may shear it (NIfTI, NRRD, DICOM series). */
  affine?: Mat4;
  /** CT or MR when the file says so (MetaImage's Modality); undefined when it does not. */
  modality?: 'CT' | 'MR';
}

/** A single image file's header, read; `load` decodes its voxels. */
export interface OpenedBytes {
  header: BytesHeader;
  load(): Promise<Volume>;
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
  const opened = openImage(format, await probeImage(bufferSource(bytes, name)), options);
  const header: BytesHeader = { ...opened.header, spacing: opened.spacing() };
  if (opened.affine) header.affine = opened.affine();
  if (opened.modality) header.modality = opened.modality;
  return { header, load: opened.load };
}

/**
 * A DICOM series from files in memory: its files (as chosen or dropped, a folder's included) or one
 * .zip. The Node reader's own scan, stacking and geometry (src/io/dicom) over the bytes; `name` names
 * the series in messages. Nothing but the headers is read before `load`.
 */
export async function openDicomBytes(
  files: readonly NamedBytes[],
  name: string,
  options: DicomSeriesOptions = {},
): Promise<OpenedBytes> {
  const opened = await openDicomSeriesFrom(await memoryDicomInput(name, files), options);
  const { modality } = opened;
  const header: BytesHeader = {
    ...opened.header,
    spacing: opened.spacing,
    affine: opened.affine,
    ...(modality === 'CT' || modality === 'MR' ? { modality } : {}),
  };
  return { header, load: opened.load };
}
