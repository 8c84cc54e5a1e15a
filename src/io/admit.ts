import { totalmem } from 'node:os';
import { MedparseError } from '../core/errors.js';
import type { Dims3, Volume } from '../core/volume.js';

/** What a reader knows from a header alone, before any voxel is read. */
export interface VolumeHeader {
  file: string;
  format: 'nifti' | 'mgh' | 'nrrd' | 'metaimage' | 'dicom';
  /** The 3D grid of the volume that would be read (one frame of a 4D file). */
  dims: Dims3;
  /** Bytes per voxel as stored; decoding may widen scaled integers to float32. */
  bytesPerVoxel: number;
}

/**
 * A volume whose header has been read and admitted: what the file claims is known and checked, and
 * no voxel has been read; `load` reads them.
 */
export interface OpenedVolume {
  header: VolumeHeader;
  load(): Promise<Volume>;
}

export interface AdmitOptions {
  /**
   * Called with the header's facts before any voxel data are read or inflated; throw (a MedparseError)
   * to refuse the image, e.g. when the work it implies needs more memory than allowed.
   */
  checkHeader?: (header: VolumeHeader) => void;
  /** Most bytes of voxel data a read may hold (default: 75 % of the machine's memory). */
  maxVoxelBytes?: number;
}

/**
 * Refuses, from its header, a volume larger than the memory allowed; then asks the caller's check.
 * Returns the header it admitted.
 */
export function admitVolume(header: VolumeHeader, options: AdmitOptions): VolumeHeader {
  const limit = options.maxVoxelBytes ?? 0.75 * totalmem();
  const bytes = header.dims[0] * header.dims[1] * header.dims[2] * header.bytesPerVoxel;
  if (bytes > limit) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `the header describes ${header.dims.join('x')} voxels of ${header.bytesPerVoxel} bytes (${gib(bytes)} GiB), more than the ${gib(limit)} GiB allowed; the header is corrupt or the image needs a bigger machine`,
      header.file,
    );
  }
  options.checkHeader?.(header);
  return header;
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}
