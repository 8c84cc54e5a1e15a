import type { Mat4, Vec3 } from './affine.js';
import { shearVolumeFactor, voxelSizes, withColumnLengths } from './affine.js';
import { orientationCode } from './orientation.js';

export type VoxelArray =
  Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export type DataType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

export type Dims3 = [number, number, number];

export type SourceFormat = 'nifti1' | 'nifti2' | 'mgh' | 'nrrd' | 'metaimage' | 'dicom' | 'generated';

export type Modality = 'CT' | 'MR' | 'PT' | 'unknown';

/**
 * The NIfTI geometry fields of a volume read from NIfTI, kept so that an output written on the same
 * grid carries exactly the input's qform/sform (codes, quaternion, rows) rather than a re-derived one.
 */
export interface NiftiGeometry {
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  qfac: number;
  pixdim: [number, number, number];
  srow: [number[], number[], number[]];
  xyztUnits: number;
}

export interface VolumeMeta {
  sourceFormat: SourceFormat;
  /** Path the volume was read from, when it came from a file or folder. */
  sourcePath?: string;
  modality: Modality;
  description?: string;
  /** Data type as stored on disk, before scaling (e.g. "int16" for CT stored with a rescale). */
  storedType?: string;
  nifti?: NiftiGeometry;
  /** DICOM identifiers of the source series, for DICOM SEG references. */
  dicom?: DicomSeriesInfo;
  /** Number of volumes in the source file when it held more than one (4D); which one this is. */
  frame?: { index: number; count: number };
  /** What the reader did that the user should know (files skipped, a series UID derived), one line each. */
  notes?: string[];
}

export interface DicomSeriesInfo {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string;
  sopClassUid?: string;
  /** SOP instance UIDs in slice order (index k of the volume is instance k). */
  sopInstanceUids: string[];
  /**
   * The series of each slice, in slice order, when the volume was read from several series (a cine stored a
   * series per slice position); `seriesInstanceUid` is then the first slice's.
   */
  sliceSeriesUids?: string[];
  patientId?: string;
  patientName?: string;
  studyDate?: string;
  seriesDescription?: string;
}

/**
 * A 3D scalar volume. Voxel (i, j, k) is stored at i + dims[0] * (j + dims[1] * k) and sits at
 * world position affine * [i, j, k, 1] in RAS+ millimetres.
 */
export interface Volume {
  dims: Dims3;
  /** Voxel-to-world, RAS+ mm, row-major 4x4. */
  affine: Mat4;
  data: VoxelArray;
  /**
   * Voxel size in mm as the file states it (NIfTI pixdim, nibabel's zooms); absent when the file
   * states none. It can differ from the affine's column lengths: ACDC's sform is unit-scaled while
   * pixdim holds the real 1.37 x 1.37 x 10 mm. Physical quantities use this, world positions the affine.
   */
  spacing?: Vec3;
  meta: VolumeMeta;
}

export function voxelCount(dims: readonly number[]): number {
  return dims[0] * dims[1] * dims[2];
}

/** Voxel size in mm: the file's stated spacing when it has one, else the affine's column lengths. */
export function spacingOf(volume: Pick<Volume, 'affine' | 'spacing'>): Vec3 {
  return volume.spacing ? [...volume.spacing] : voxelSizes(volume.affine);
}

/**
 * The affine with its axes at the voxel size `spacingOf` gives: what millimetres are measured with. It is the
 * affine itself unless the file states another size than its affine holds (ACDC's unit-scaled sform).
 */
export function physicalAffine(volume: Pick<Volume, 'affine' | 'spacing'>): number[] {
  return withColumnLengths(volume.affine, spacingOf(volume));
}

/**
 * `{ spacing }` with the voxel size a file states (NIfTI pixdim, MGH delta) when it is usable, else
 * `{}` so that the affine's column lengths are used. Kept even when it agrees with the affine: the
 * stated values are exact (1.0) where float32 direction cosines give 0.99999994, and resampling
 * between grids that should be identical must not interpolate.
 */
export function statedSpacing(stated: readonly number[]): { spacing?: Vec3 } {
  const usable = stated.length >= 3 && stated.slice(0, 3).every((v) => Number.isFinite(v) && v > 0);
  return usable ? { spacing: [stated[0], stated[1], stated[2]] } : {};
}

/**
 * Volume of one voxel in mL (1 mL = 1000 mm^3): the voxel size's product, times the shear factor of a
 * non-orthogonal grid (a gantry-tilted stack), so that it is |det| of the physical affine.
 */
export function voxelVolumeMl(volume: Pick<Volume, 'affine' | 'spacing'>): number {
  const [x, y, z] = spacingOf(volume);
  return (x * y * z * shearVolumeFactor(volume.affine)) / 1000;
}

export function orientationOf(volume: Pick<Volume, 'affine'>): string {
  return orientationCode(volume.affine);
}

export function dataTypeOf(data: VoxelArray): DataType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

export function allocate(type: DataType, length: number): VoxelArray {
  switch (type) {
    case 'uint8':
      return new Uint8Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint16':
      return new Uint16Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
  }
}

export function bytesPerVoxel(type: DataType): number {
  return { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8 }[type];
}

/** A new volume on the same grid (dims and affine) as `like`, holding `data`. */
export function volumeLike(like: Volume, data: VoxelArray, meta?: Partial<VolumeMeta>): Volume {
  if (data.length !== voxelCount(like.dims)) {
    throw new Error(`data has ${data.length} voxels, the grid ${like.dims.join('x')} needs ${voxelCount(like.dims)}`);
  }
  return {
    dims: [...like.dims],
    affine: [...like.affine],
    data,
    ...(like.spacing ? { spacing: [...like.spacing] as Vec3 } : {}),
    meta: { ...like.meta, ...meta },
  };
}

/** Minimum and maximum, ignoring NaN; [NaN, NaN] when every voxel is NaN or there are none. */
export function valueRange(data: VoxelArray): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min === Infinity ? [NaN, NaN] : [min, max];
}
