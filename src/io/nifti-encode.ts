/**
 * A volume as NIfTI bytes (NIfTI-1, or NIfTI-2 when an axis is too long for it), in memory, with a label
 * table in a comment extension when given: no file system, so the in-browser engine writes masks too.
 * Writing files (and gzip on Node): write-nifti.ts.
 */
import { affinesClose } from '../core/affine.js';
import type { DataType, NiftiGeometry, Volume } from '../core/volume.js';
import { bytesPerVoxel, dataTypeOf } from '../core/volume.js';
import type { LabelTable } from './label-legend.js';
import { bestAffine, geometryFromAffine } from './nifti-geometry.js';

const DATATYPE_CODES: Record<DataType, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
};

/** NIFTI_ECODE_COMMENT: free text; medparse stores its label table there as JSON. */
export const COMMENT_EXTENSION_CODE = 6;

export interface EncodeNiftiOptions {
  /** Legend of a label map, stored in the file as a comment extension. */
  labelTable?: LabelTable;
  description?: string;
}

/** The longest axis a NIfTI-1 header can state: its dim fields are signed 16-bit. */
export const NIFTI1_MAX_DIM = 32767;

/** The NIfTI version a volume is written as: 2 only when NIfTI-1 cannot hold its dimensions. */
export function niftiVersionFor(dims: readonly number[]): 1 | 2 {
  return dims.some((n) => n > NIFTI1_MAX_DIM) ? 2 : 1;
}

export function encodeNifti(volume: Volume, options: EncodeNiftiOptions = {}): Uint8Array {
  const header = encodeNiftiHeader(volume, options);
  const out = new Uint8Array(header.length + volume.data.byteLength);
  out.set(header);
  out.set(voxelBytes(volume), header.length);
  return out;
}

/**
 * The bytes of a NIfTI file before its voxels (header, extensions, up to vox_offset): encodeNifti less
 * the copy of the voxels, for a writer that streams them (write-nifti.ts).
 */
export function encodeNiftiHeader(volume: Volume, options: EncodeNiftiOptions = {}): Uint8Array {
  const type = dataTypeOf(volume.data);
  const geometry = geometryToWrite(volume);
  const version = niftiVersionFor(volume.dims);
  const headerEnd = version === 1 ? 348 : 540;
  const extension = options.labelTable ? encodeExtension(JSON.stringify(options.labelTable)) : new Uint8Array(0);
  const voxOffset = headerEnd + 4 + extension.length;
  const out = new Uint8Array(voxOffset);
  const view = new DataView(out.buffer);
  const description = options.description ?? volume.meta.description ?? '';
  if (version === 1) writeHeader(view, out, volume, type, geometry, voxOffset, description);
  else writeHeader2(view, out, volume, type, geometry, voxOffset, description);
  if (extension.length > 0) out[headerEnd] = 1;
  out.set(extension, headerEnd + 4);
  return out;
}

/** A volume's voxels as bytes (little-endian, as typed arrays hold them here), without a copy. */
export function voxelBytes(volume: Volume): Uint8Array {
  return new Uint8Array(volume.data.buffer, volume.data.byteOffset, volume.data.byteLength);
}

function geometryToWrite(volume: Volume): NiftiGeometry {
  const original = volume.meta.nifti;
  if (original && affinesClose(bestAffine(original, volume.dims), volume.affine, 1e-6)) return original;
  return geometryFromAffine(volume.affine);
}

function writeHeader(
  view: DataView,
  bytes: Uint8Array,
  volume: Volume,
  type: DataType,
  g: NiftiGeometry,
  voxOffset: number,
  description: string,
): void {
  const le = true;
  view.setInt32(0, 348, le);
  const dim = [3, volume.dims[0], volume.dims[1], volume.dims[2], 1, 1, 1, 1];
  dim.forEach((v, i) => view.setInt16(40 + 2 * i, v, le));
  view.setInt16(70, DATATYPE_CODES[type], le);
  view.setInt16(72, bytesPerVoxel(type) * 8, le);
  const pixdim = [g.qfac, g.pixdim[0], g.pixdim[1], g.pixdim[2], 1, 1, 1, 1];
  pixdim.forEach((v, i) => view.setFloat32(76 + 4 * i, v, le));
  view.setFloat32(108, voxOffset, le);
  view.setFloat32(112, 1, le);
  view.setFloat32(116, 0, le);
  bytes[123] = g.xyztUnits || 10;
  bytes.set(new TextEncoder().encode(description.slice(0, 79)), 148);
  view.setInt16(252, g.qformCode, le);
  view.setInt16(254, g.sformCode, le);
  g.quatern.forEach((v, i) => view.setFloat32(256 + 4 * i, v, le));
  g.qoffset.forEach((v, i) => view.setFloat32(268 + 4 * i, v, le));
  g.srow.forEach((row, r) => row.forEach((v, c) => view.setFloat32(280 + 16 * r + 4 * c, v, le)));
  bytes.set(new TextEncoder().encode('n+1\0'), 344);
}

/** The NIfTI-2 header (540 bytes, little endian): the fields of NIfTI-1 widened to 64 bits. */
function writeHeader2(
  view: DataView,
  bytes: Uint8Array,
  volume: Volume,
  type: DataType,
  g: NiftiGeometry,
  voxOffset: number,
  description: string,
): void {
  const le = true;
  view.setInt32(0, 540, le);
  bytes.set([0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
  view.setInt16(12, DATATYPE_CODES[type], le);
  view.setInt16(14, bytesPerVoxel(type) * 8, le);
  const dim = [3, volume.dims[0], volume.dims[1], volume.dims[2], 1, 1, 1, 1];
  dim.forEach((v, i) => view.setBigInt64(16 + 8 * i, BigInt(v), le));
  const pixdim = [g.qfac, g.pixdim[0], g.pixdim[1], g.pixdim[2], 1, 1, 1, 1];
  pixdim.forEach((v, i) => view.setFloat64(104 + 8 * i, v, le));
  view.setBigInt64(168, BigInt(voxOffset), le);
  view.setFloat64(176, 1, le);
  view.setFloat64(184, 0, le);
  bytes.set(new TextEncoder().encode(description.slice(0, 79)), 240);
  view.setInt32(344, g.qformCode, le);
  view.setInt32(348, g.sformCode, le);
  g.quatern.forEach((v, i) => view.setFloat64(352 + 8 * i, v, le));
  g.qoffset.forEach((v, i) => view.setFloat64(376 + 8 * i, v, le));
  g.srow.forEach((row, r) => row.forEach((v, c) => view.setFloat64(400 + 32 * r + 8 * c, v, le)));
  view.setInt32(500, g.xyztUnits || 10, le);
}

/** One NIfTI-1 extension: esize (a multiple of 16, header included), ecode, then the padded text. */
function encodeExtension(text: string): Uint8Array {
  const content = new TextEncoder().encode(text);
  const size = Math.ceil((content.length + 8) / 16) * 16;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setInt32(0, size, true);
  view.setInt32(4, COMMENT_EXTENSION_CODE, true);
  out.set(content, 8);
  return out;
}
