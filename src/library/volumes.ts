import type { Mat4, Vec3 } from '../core/affine.js';
import { MedparseError } from '../core/errors.js';
import { dataTypeOf, voxelCount, type Dims3, type Modality, type Volume, type VoxelArray } from '../core/volume.js';
import { readVolume as readAnyVolume, readVolumeHeader as readAnyHeader, type VolumeHeader } from '../io/read.js';
import { writeNifti } from '../io/write-nifti.js';
import { cancellable, type CallOptions } from './abort.js';

export interface ReadVolumeOptions extends CallOptions {
  /** Which volume of a 4D file to read (0-based); required when the file holds more than one. */
  volume?: number;
  /** SeriesInstanceUID to read from a DICOM folder or zip that holds several series. */
  series?: string;
  /** Most bytes of voxel data the read may hold (default: 75 % of the machine's memory). */
  maxVoxelBytes?: number;
}

/**
 * Reads one 3D volume: NIfTI, MGH/MGZ, NRRD, MetaImage, or DICOM (a folder, a .zip or a file of one
 * series). The header is checked before any voxel is read; problems reject with a MedparseError whose
 * one-line message names the file.
 */
export async function readVolume(path: string, options: ReadVolumeOptions = {}): Promise<Volume> {
  options.signal?.throwIfAborted();
  const volume = await readAnyVolume(path, {
    volume: options.volume,
    series: options.series,
    maxVoxelBytes: options.maxVoxelBytes,
    onProgress: cancellable(options),
  });
  options.signal?.throwIfAborted();
  return volume;
}

/** What readVolume would read (format, grid, data type), without reading voxels. */
export async function readVolumeHeader(
  path: string,
  options: Omit<ReadVolumeOptions, 'onProgress' | 'signal'> = {},
): Promise<VolumeHeader> {
  return readAnyHeader(path, options);
}

export interface WriteVolumeOptions {
  description?: string;
  /** zlib level for .nii.gz (1 = fastest, 9 = smallest; default 6). */
  compressionLevel?: number;
}

/**
 * Writes a volume as NIfTI (.nii, or .nii.gz compressed), the whole file or nothing. A volume read
 * from NIfTI keeps its qform/sform exactly.
 */
export async function writeVolume(path: string, volume: Volume, options: WriteVolumeOptions = {}): Promise<void> {
  if (!/\.nii(\.gz)?$/i.test(path))
    throw new MedparseError('INVALID_ARGUMENT', 'writeVolume writes NIfTI: name the file .nii or .nii.gz', path);
  await writeNifti(path, volume, options);
}

export interface CreateVolumeOptions {
  /** Voxels, x fastest: voxel (i, j, k) at i + nx * (j + ny * k). */
  data: VoxelArray;
  dims: Dims3;
  /** Voxel size in mm (default 1 x 1 x 1); used for the affine when none is given. */
  spacing?: Vec3;
  /** Voxel-to-world, RAS+ mm, row-major 4x4 (default: axes along R, A, S with `spacing`, origin 0). */
  affine?: Mat4;
  /** CT values must be Hounsfield units. Default 'unknown': the engine guesses from the values. */
  modality?: Modality;
  description?: string;
}

/** A volume from voxels in memory (an array from another library, a generated test image). */
export function createVolume(options: CreateVolumeOptions): Volume {
  const { data, dims } = options;
  if (dims.length !== 3 || !dims.every((n) => Number.isInteger(n) && n > 0))
    throw new MedparseError('INVALID_DIMENSIONS', `dims must be three whole numbers > 0, got [${dims.join(', ')}]`);
  if (data.length !== voxelCount(dims))
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `data has ${data.length} voxels, dims ${dims.join('x')} need ${voxelCount(dims)}`,
    );
  const spacing = options.spacing ?? [1, 1, 1];
  if (!spacing.every((s) => Number.isFinite(s) && s > 0))
    throw new MedparseError('INVALID_ARGUMENT', `spacing must be three numbers > 0, got [${spacing.join(', ')}]`);
  const affine = options.affine ?? [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1];
  if (affine.length !== 16 || !affine.every(Number.isFinite))
    throw new MedparseError('INVALID_ARGUMENT', 'affine must be 16 finite numbers (a row-major 4x4)');
  return {
    dims: [...dims],
    affine: [...affine],
    data,
    spacing: [...spacing],
    meta: {
      sourceFormat: 'generated',
      modality: options.modality ?? 'unknown',
      storedType: dataTypeOf(data),
      ...(options.description ? { description: options.description } : {}),
    },
  };
}
