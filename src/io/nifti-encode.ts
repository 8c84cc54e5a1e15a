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
  const version = niftiVersionFor(volume.dims);
  const headerEnd = version === 1 ? 348 : 540;
  const extension = options.labelTable ? encodeExtension(JSON.stringify(options.labelTable)) : new Uint8Array(0);
  const voxOffset = headerEnd + 4 + extension.length;
  const out = new Uint8Array(voxOffset);
  const view = new DataView(out.buffer);
  const fields = headerFields(volume, voxOffset, options.description ?? volume.meta.description ?? '');
  if (version === 1) writeNifti1Header(view, out, fields);
  else writeNifti2Header(view, out, fields);
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

/** What a NIfTI-1 and a NIfTI-2 header both say; each version lays it out in its own field widths. */
interface HeaderFields {
  dim: number[];
  datatype: number;
  bitpix: number;
  pixdim: number[];
  voxOffset: number;
  /** descrip, at most 79 characters so the 80-byte field keeps its terminating zero. */
  description: Uint8Array;
  geometry: NiftiGeometry;
}

function headerFields(volume: Volume, voxOffset: number, description: string): HeaderFields {
  const type = dataTypeOf(volume.data);
  const g = geometryToWrite(volume);
  return {
    dim: [3, volume.dims[0], volume.dims[1], volume.dims[2], 1, 1, 1, 1],
    datatype: DATATYPE_CODES[type],
    bitpix: bytesPerVoxel(type) * 8,
    pixdim: [g.qfac, g.pixdim[0], g.pixdim[1], g.pixdim[2], 1, 1, 1, 1],
    voxOffset,
    description: new TextEncoder().encode(description.slice(0, 79)),
    geometry: g,
  };
}

/** The NIfTI-1 header (348 bytes, little endian). */
function writeNifti1Header(view: DataView, bytes: Uint8Array, h: HeaderFields): void {
  const le = true;
  const g = h.geometry;
  view.setInt32(0, 348, le);
  h.dim.forEach((v, i) => view.setInt16(40 + 2 * i, v, le));
  view.setInt16(70, h.datatype, le);
  view.setInt16(72, h.bitpix, le);
  h.pixdim.forEach((v, i) => view.setFloat32(76 + 4 * i, v, le));
  view.setFloat32(108, h.voxOffset, le);
  view.setFloat32(112, 1, le);
  view.setFloat32(116, 0, le);
  bytes[123] = g.xyztUnits || 10;
  bytes.set(h.description, 148);
  view.setInt16(252, g.qformCode, le);
  view.setInt16(254, g.sformCode, le);
  g.quatern.forEach((v, i) => view.setFloat32(256 + 4 * i, v, le));
  g.qoffset.forEach((v, i) => view.setFloat32(268 + 4 * i, v, le));
  g.srow.forEach((row, r) => row.forEach((v, c) => view.setFloat32(280 + 16 * r + 4 * c, v, le)));
  bytes.set(new TextEncoder().encode('n+1\0'), 344);
}

/** The NIfTI-2 header (540 bytes, little endian): the fields of NIfTI-1 widened to 64 bits. */
function writeNifti2Header(view: DataView, bytes: Uint8Array, h: HeaderFields): void {
  const le = true;
  const g = h.geometry;
  view.setInt32(0, 540, le);
  bytes.set([0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
  view.setInt16(12, h.datatype, le);
  view.setInt16(14, h.bitpix, le);
  h.dim.forEach((v, i) => view.setBigInt64(16 + 8 * i, BigInt(v), le));
  h.pixdim.forEach((v, i) => view.setFloat64(104 + 8 * i, v, le));
  view.setBigInt64(168, BigInt(h.voxOffset), le);
  view.setFloat64(176, 1, le);
  view.setFloat64(184, 0, le);
  bytes.set(h.description, 240);
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
