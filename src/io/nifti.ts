import { MedparseError } from '../core/errors.js';
import type { DataType, Dims3, NiftiGeometry, Volume, VoxelArray } from '../core/volume.js';
import { statedSpacing } from '../core/volume.js';
import { applyScaling, decodeStoredVoxels, readAscii, storedBytesPerVoxel, type StoredType } from './binary.js';
import { checkAffine, checkDimensions, chooseFrame, type FrameOptions } from './frames.js';
import { bestAffine } from './nifti-geometry.js';

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** dim[0..7] as stored: dim[0] is the number of dimensions. */
  dim: number[];
  datatype: number;
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  description: string;
  intentCode: number;
  geometry: NiftiGeometry;
  /** "n+1"/"n+2" for single files, "ni1"/"ni2" for .hdr/.img pairs. */
  magic: string;
}

const DATATYPES: Record<number, { type: DataType; source: StoredType } | { unsupported: string }> = {
  2: { type: 'uint8', source: 'uint8' },
  4: { type: 'int16', source: 'int16' },
  8: { type: 'int32', source: 'int32' },
  16: { type: 'float32', source: 'float32' },
  64: { type: 'float64', source: 'float64' },
  256: { type: 'int8', source: 'int8' },
  512: { type: 'uint16', source: 'uint16' },
  768: { type: 'uint32', source: 'uint32' },
  // 64-bit integers are read through float64: exact up to 2^53, far beyond any voxel value in practice.
  1024: { type: 'float64', source: 'int64' },
  1280: { type: 'float64', source: 'uint64' },
  1: { unsupported: 'binary (1 bit)' },
  32: { unsupported: 'complex64' },
  128: { unsupported: 'RGB24 colour' },
  1536: { unsupported: 'float128' },
  1792: { unsupported: 'complex128' },
  2048: { unsupported: 'complex256' },
  2304: { unsupported: 'RGBA32 colour' },
};

export function isNiftiHeader(bytes: Uint8Array): boolean {
  if (bytes.length < 348) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [348, 540].some((size) => view.getInt32(0, true) === size || view.getInt32(0, false) === size);
}

export function parseNiftiHeader(bytes: Uint8Array, file: string): NiftiHeader {
  if (bytes.length < 348) {
    throw new MedparseError(
      'TRUNCATED_FILE',
      `file is too short (${bytes.length} bytes) to hold a NIfTI header (348)`,
      file,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const littleEndian of [true, false]) {
    const size = view.getInt32(0, littleEndian);
    if (size === 348) return validated(parseNifti1(view, bytes, littleEndian, file), file);
    if (size === 540) {
      if (bytes.length < 540)
        throw new MedparseError('TRUNCATED_FILE', 'file is too short to hold a NIfTI-2 header (540 bytes)', file);
      return validated(parseNifti2(view, bytes, littleEndian, file), file);
    }
  }
  throw new MedparseError(
    'CORRUPT_FILE',
    'not a NIfTI file: the header size field is neither 348 (NIfTI-1) nor 540 (NIfTI-2)',
    file,
  );
}

/**
 * The header checks nibabel makes on load (Nifti1Header.check_fix), with its fixes: a voxel offset
 * that is not a number, negative, or inside the header of a single file is refused (nibabel raises);
 * zero spatial pixdims become 1 and negative ones their absolute value (nibabel's _chk_pixdims), so a
 * qform with a zero pixdim no longer gives an all-zero affine.
 */
function validated(header: NiftiHeader, file: string): NiftiHeader {
  const offset = header.voxOffset;
  if (!Number.isFinite(offset) || offset < 0 || offset > Number.MAX_SAFE_INTEGER) {
    throw new MedparseError('CORRUPT_FILE', `vox_offset is ${offset}, not a byte offset: the header is damaged`, file);
  }
  const single = header.magic === 'n+1' || header.magic === 'n+2';
  const minimum = header.version === 1 ? 352 : 544;
  if (single && offset < minimum) {
    throw new MedparseError(
      'CORRUPT_FILE',
      `vox_offset ${offset} lies inside the header (a single-file NIfTI-${header.version} stores voxels from byte ${minimum} on): the header is damaged`,
      file,
    );
  }
  const spatial = header.geometry.pixdim.map((v) => (v === 0 ? 1 : Math.abs(v))) as [number, number, number];
  return {
    ...header,
    // nibabel reads the offset as int(vox_offset)
    voxOffset: Math.trunc(offset),
    pixdim: [header.pixdim[0], ...spatial, ...header.pixdim.slice(4)],
    geometry: { ...header.geometry, pixdim: spatial },
  };
}

/**
 * Where the voxels of one frame of the image end, and where all frames end: how much of the (inflated)
 * file a reader needs, known from the header alone.
 */
export function niftiDataExtent(
  header: NiftiHeader,
  file: string,
  options: FrameOptions = {},
): { frameEnd: number; dataEnd: number; dims: Dims3; bytesPerVoxel: number } {
  const entry = datatypeEntry(header, file);
  const { spatial, frames } = niftiShape(header, file);
  const frame = chooseFrame(frames, options, file);
  const perFrame = spatial[0] * spatial[1] * spatial[2];
  const size = storedBytesPerVoxel(entry.source);
  return {
    frameEnd: header.voxOffset + (frame + 1) * perFrame * size,
    dataEnd: header.voxOffset + frames * perFrame * size,
    dims: spatial,
    bytesPerVoxel: size,
  };
}

function datatypeEntry(header: NiftiHeader, file: string): { type: DataType; source: StoredType } {
  const entry = DATATYPES[header.datatype];
  if (!entry)
    throw new MedparseError(
      'UNSUPPORTED_DATATYPE',
      `NIfTI datatype code ${header.datatype} is not defined by the standard`,
      file,
    );
  if ('unsupported' in entry) {
    throw new MedparseError(
      'UNSUPPORTED_DATATYPE',
      `NIfTI datatype ${entry.unsupported} is not a scalar image medparse can segment; convert it to a greyscale scalar type first`,
      file,
    );
  }
  return entry;
}

function parseNifti1(view: DataView, bytes: Uint8Array, le: boolean, file: string): NiftiHeader {
  const dim = Array.from({ length: 8 }, (_, i) => view.getInt16(40 + 2 * i, le));
  const pixdim = Array.from({ length: 8 }, (_, i) => view.getFloat32(76 + 4 * i, le));
  const magic = readAscii(bytes, 344, 4);
  if (magic !== 'n+1' && magic !== 'ni1') {
    throw new MedparseError('CORRUPT_FILE', `NIfTI-1 magic is "${magic}", expected "n+1" or "ni1"`, file);
  }
  const f32 = (o: number) => view.getFloat32(o, le);
  return {
    version: 1,
    littleEndian: le,
    dim,
    datatype: view.getInt16(70, le),
    pixdim,
    voxOffset: f32(108),
    sclSlope: f32(112),
    sclInter: f32(116),
    description: readAscii(bytes, 148, 80),
    intentCode: view.getInt16(68, le),
    magic,
    geometry: {
      qformCode: view.getInt16(252, le),
      sformCode: view.getInt16(254, le),
      quatern: [f32(256), f32(260), f32(264)],
      qoffset: [f32(268), f32(272), f32(276)],
      qfac: pixdim[0] === -1 ? -1 : 1,
      pixdim: [pixdim[1], pixdim[2], pixdim[3]],
      srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f32(280 + 16 * r + 4 * c))) as NiftiGeometry['srow'],
      xyztUnits: bytes[123],
    },
  };
}

function parseNifti2(view: DataView, bytes: Uint8Array, le: boolean, file: string): NiftiHeader {
  const magic = readAscii(bytes, 4, 4);
  if (magic !== 'n+2' && magic !== 'ni2') {
    throw new MedparseError('CORRUPT_FILE', `NIfTI-2 magic is "${magic}", expected "n+2" or "ni2"`, file);
  }
  const i64 = (o: number) => Number(view.getBigInt64(o, le));
  const f64 = (o: number) => view.getFloat64(o, le);
  const dim = Array.from({ length: 8 }, (_, i) => i64(16 + 8 * i));
  const pixdim = Array.from({ length: 8 }, (_, i) => f64(104 + 8 * i));
  return {
    version: 2,
    littleEndian: le,
    dim,
    datatype: view.getInt16(12, le),
    pixdim,
    voxOffset: i64(168),
    sclSlope: f64(176),
    sclInter: f64(184),
    description: readAscii(bytes, 240, 80),
    intentCode: view.getInt32(504, le),
    magic,
    geometry: {
      qformCode: view.getInt32(344, le),
      sformCode: view.getInt32(348, le),
      quatern: [f64(352), f64(360), f64(368)],
      qoffset: [f64(376), f64(384), f64(392)],
      qfac: pixdim[0] === -1 ? -1 : 1,
      pixdim: [pixdim[1], pixdim[2], pixdim[3]],
      srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f64(400 + 32 * r + 8 * c))) as NiftiGeometry['srow'],
      xyztUnits: view.getInt32(500, le),
    },
  };
}

/** Spatial dims (missing axes are 1) and the number of volumes along dims 4..7. */
export function niftiShape(header: NiftiHeader, file: string): { spatial: Dims3; frames: number } {
  const rank = header.dim[0];
  if (!Number.isInteger(rank) || rank < 1 || rank > 7) {
    throw new MedparseError('INVALID_DIMENSIONS', `dim[0] is ${rank}; a NIfTI image has 1 to 7 dimensions`, file);
  }
  const sizes = header.dim.slice(1, rank + 1);
  const spatial: Dims3 = [sizes[0] ?? 1, sizes[1] ?? 1, sizes[2] ?? 1];
  const frames = sizes.slice(3).reduce((a, b) => a * b, 1);
  checkDimensions([...spatial, frames], file);
  return { spatial, frames };
}

/**
 * Decodes one 3D volume from a NIfTI image: `header` from the header bytes, `data` the bytes that
 * hold the voxels (the same buffer for a single .nii file, the .img contents for a pair).
 */
export function decodeNifti(
  header: NiftiHeader,
  data: Uint8Array,
  dataOffset: number,
  file: string,
  options: FrameOptions = {},
): Volume {
  const entry = datatypeEntry(header, file);
  const { spatial, frames } = niftiShape(header, file);
  const frame = chooseFrame(frames, options, file);
  const perFrame = spatial[0] * spatial[1] * spatial[2];
  const raw = readFrame(entry.source, data, dataOffset, perFrame, frame, header.littleEndian, file);
  const affine = checkAffine(bestAffine(header.geometry, spatial), 'the qform/sform', file);
  const { slope, intercept } = effectiveScaling(header);
  return {
    dims: spatial,
    affine,
    data: applyScaling(raw, slope, intercept),
    ...statedSpacing(header.geometry.pixdim.map(Math.abs)),
    meta: {
      sourceFormat: header.version === 1 ? 'nifti1' : 'nifti2',
      sourcePath: file,
      modality: 'unknown',
      description: header.description || undefined,
      storedType: entry.source,
      nifti: header.geometry,
      ...(frames > 1 ? { frame: { index: frame, count: frames } } : {}),
    },
  };
}

function readFrame(
  stored: StoredType,
  data: Uint8Array,
  dataOffset: number,
  perFrame: number,
  frame: number,
  littleEndian: boolean,
  file: string,
): VoxelArray {
  const offset = dataOffset + frame * perFrame * storedBytesPerVoxel(stored);
  return decodeStoredVoxels(data, offset, stored, perFrame, littleEndian, file);
}

/** nibabel's rule: a zero or non-finite slope means "no scaling"; a non-finite intercept means 0. */
function effectiveScaling(header: NiftiHeader): { slope: number; intercept: number } {
  const slope = header.sclSlope;
  if (slope === 0 || !Number.isFinite(slope)) return { slope: 1, intercept: 0 };
  return { slope, intercept: Number.isFinite(header.sclInter) ? header.sclInter : 0 };
}
