/**
 * A volume saved as MGZ, NRRD (gzip encoding) or MetaImage (.mha, zlib-compressed inline data): the
 * files tests open with both readers (readVolume on Node, readVolumeBytes in the browser) and in the
 * viewer. int16 voxels, the affine as each format states it (RAS in MGH, LPS in NRRD and MetaImage).
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { makePhantomCt } from '../../src/core/phantom.js';
import type { Volume } from '../../src/core/volume.js';
import { encodeNifti } from '../../src/io/nifti-encode.js';

export type ImageFileFormat = 'mgz' | 'nrrd' | 'mha';

export function encodeImageFile(volume: Volume, format: ImageFileFormat): Uint8Array {
  if (!(volume.data instanceof Int16Array)) throw new Error('encodeImageFile writes int16 volumes only');
  switch (format) {
    case 'mgz':
      return encodeMgz(volume, volume.data);
    case 'nrrd':
      return encodeNrrd(volume, volume.data);
    case 'mha':
      return encodeMha(volume, volume.data);
  }
}

/** The affine's axis columns and translation, row-major 4x4 in RAS. */
function axes(volume: Volume): { columns: number[][]; origin: number[] } {
  const a = volume.affine;
  return {
    columns: [0, 1, 2].map((c) => [a[c], a[4 + c], a[8 + c]]),
    origin: [a[3], a[7], a[11]],
  };
}

const lps = (v: readonly number[]) => [-v[0], -v[1], v[2]];

function littleEndian(data: Int16Array): Uint8Array {
  const out = new Uint8Array(data.length * 2);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setInt16(2 * i, v, true));
  return out;
}

function join(head: string | Uint8Array, body: Uint8Array): Uint8Array {
  const first = typeof head === 'string' ? new TextEncoder().encode(head) : head;
  const out = new Uint8Array(first.length + body.length);
  out.set(first);
  out.set(body, first.length);
  return out;
}

/** FreeSurfer MGH (big-endian, 284-byte header; the centre's RAS position as nibabel's MGHHeader), gzipped. */
function encodeMgz(volume: Volume, data: Int16Array): Uint8Array {
  const { columns, origin } = axes(volume);
  const header = new Uint8Array(284);
  const view = new DataView(header.buffer);
  [1, ...volume.dims, 1, 4, 0].forEach((v, i) => view.setInt32(4 * i, v, false)); // version, dims, frames, short, dof
  view.setInt16(28, 1, false); // goodRASFlag
  const sizes = columns.map((c) => Math.hypot(...c));
  sizes.forEach((s, i) => view.setFloat32(30 + 4 * i, s, false));
  columns.forEach((c, axis) =>
    c.forEach((v, row) => view.setFloat32(42 + 12 * axis + 4 * row, v / sizes[axis], false)),
  );
  const centre = [0, 1, 2].map(
    (row) => origin[row] + columns.reduce((s, c, axis) => s + (c[row] * volume.dims[axis]) / 2, 0),
  );
  centre.forEach((v, i) => view.setFloat32(78 + 4 * i, v, false));
  const body = new Uint8Array(data.length * 2);
  const bodyView = new DataView(body.buffer);
  data.forEach((v, i) => bodyView.setInt16(2 * i, v, false));
  return gzipSync(join(header, body));
}

/** NRRD with gzip encoding and the data attached, in LPS space. */
function encodeNrrd(volume: Volume, data: Int16Array): Uint8Array {
  const { columns, origin } = axes(volume);
  const vector = (v: number[]) => `(${lps(v).join(',')})`;
  const header =
    `NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: ${volume.dims.join(' ')}\n` +
    `space directions: ${columns.map(vector).join(' ')}\nspace origin: ${vector(origin)}\n` +
    'endian: little\nencoding: gzip\n\n';
  return join(header, gzipSync(littleEndian(data)));
}

/** MetaImage with its data inline (ElementDataFile = LOCAL), zlib-compressed, in LPS. */
function encodeMha(volume: Volume, data: Int16Array): Uint8Array {
  const { columns, origin } = axes(volume);
  const sizes = columns.map((c) => Math.hypot(...c));
  const compressed = deflateSync(littleEndian(data));
  const header =
    'ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nCompressedData = True\n' +
    `CompressedDataSize = ${compressed.length}\n` +
    `TransformMatrix = ${columns.flatMap((c, axis) => lps(c.map((v) => v / sizes[axis]))).join(' ')}\n` +
    `Offset = ${lps(origin).join(' ')}\nElementSpacing = ${sizes.join(' ')}\nDimSize = ${volume.dims.join(' ')}\n` +
    'Modality = MET_MOD_CT\nElementType = MET_SHORT\nElementDataFile = LOCAL\n';
  return join(header, compressed);
}

/**
 * A NIfTI-1 file that is only a header (and its 4 extension bytes) declaring `dims` int16 voxels of
 * `spacing` mm: what a reader learns from a large scan's header, without the voxels.
 */
export function hugeNiftiHeader(dims: [number, number, number], spacing: [number, number, number]): Uint8Array {
  const bytes = encodeNifti(makePhantomCt({ dims: [2, 2, 2], spacing })).slice(0, 352);
  const view = new DataView(bytes.buffer);
  dims.forEach((n, axis) => view.setInt16(42 + 2 * axis, n, true)); // dim[1..3]
  return bytes;
}
