import { createGzip } from 'node:zlib';
import { writeFileAtomic } from './atomic-write.js';
import { documentProblem } from './documents.js';
import { labelTablePath, writeLabelTable, type LabelTable } from './label-table.js';
import {
  COMMENT_EXTENSION_CODE,
  encodeNifti,
  encodeNiftiHeader,
  voxelBytes,
  type EncodeNiftiOptions,
} from './nifti-encode.js';
import type { Volume } from '../core/volume.js';

export { encodeNifti, NIFTI1_MAX_DIM, niftiVersionFor, type EncodeNiftiOptions } from './nifti-encode.js';

export interface WriteNiftiOptions extends EncodeNiftiOptions {
  /** A label map's legend is also written beside the file as `<stem>.json`. */
  labelTable?: LabelTable;
  /** zlib level for .nii.gz (1 = fastest, 9 = smallest). */
  compressionLevel?: number;
  /**
   * Inclusive voxel box outside which every voxel is 0 (a mask's box; null: all are): a .nii.gz then
   * reads only the box's rows. Memory never written costs a page fault per page even to read.
   */
  nonzeroBox?: readonly [number, number, number, number, number, number] | null;
  /** Write 1 for every nonzero voxel of a uint8 volume (a mask from its probabilities), 0 elsewhere. */
  asMask?: boolean;
}

/**
 * Writes a volume as NIfTI (.nii or .nii.gz by extension): NIfTI-1, or NIfTI-2 when an axis is longer
 * than NIfTI-1's 16-bit dim fields hold (32767). When the volume came from NIfTI and its grid is
 * unchanged, the input's own qform/sform fields are written back untouched, so the output's geometry
 * is bit-for-bit the input's.
 */
export async function writeNifti(path: string, volume: Volume, options: WriteNiftiOptions = {}): Promise<void> {
  const gzip = /\.gz$/i.test(path);
  // .nii.gz: the header and the voxels go to zlib in pieces (the same bytes as one piece), so the file's
  // contents are never copied into one buffer
  const bytes = gzip
    ? await gzipPieces(niftiPieces(volume, options), options.compressionLevel ?? 6)
    : encodeNifti(volume, options);
  await writeFileAtomic(path, bytes);
  if (options.labelTable) {
    await writeLabelTable(labelTablePath(path), options.labelTable);
  }
}

/**
 * A NIfTI file as pieces: the header, then the voxels as they are or, with a `nonzeroBox`, a slice at a
 * time (zeros outside the box, its rows copied in), each piece valid until the next is asked for.
 */
function* niftiPieces(volume: Volume, options: WriteNiftiOptions): Generator<Uint8Array> {
  yield encodeNiftiHeader(volume, options);
  const voxels = voxelBytes(volume);
  const [nx, ny, nz] = volume.dims;
  const whole = [0, 0, 0, nx - 1, ny - 1, nz - 1] as const;
  if (options.asMask && !(volume.data instanceof Uint8Array))
    throw new Error('writeNifti: asMask takes a uint8 volume');
  const box = options.nonzeroBox === undefined && options.asMask ? whole : options.nonzeroBox;
  if (box === undefined) {
    yield voxels;
    return;
  }
  const bytes = voxels.length / volume.data.length;
  const slice = new Uint8Array(nx * ny * bytes);
  for (let k = 0; k < nz; k++) {
    slice.fill(0);
    if (box && k >= box[2] && k <= box[5])
      for (let j = box[1]; j <= box[4]; j++) {
        const from = (nx * (j + ny * k) + box[0]) * bytes;
        const row = voxels.subarray(from, from + (box[3] - box[0] + 1) * bytes);
        const at = (nx * j + box[0]) * bytes;
        if (options.asMask) for (let i = 0; i < row.length; i++) slice[at + i] = row[i] ? 1 : 0;
        else slice.set(row, at);
      }
    yield slice;
  }
}

/** gzip of the pieces' concatenation; each piece is compressed before the next is taken. */
async function gzipPieces(pieces: Iterable<Uint8Array>, level: number): Promise<Uint8Array> {
  const gzip = createGzip({ level });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  for (const piece of pieces)
    await new Promise<void>((resolve, reject) => gzip.write(piece, (error) => (error ? reject(error) : resolve())));
  gzip.end();
  await ended;
  return Buffer.concat(out);
}

/** Reads the label table medparse stored in a NIfTI-1 or NIfTI-2 file's extensions, if there is one. */
export function readLabelTableExtension(bytes: Uint8Array, littleEndian = true): LabelTable | undefined {
  if (bytes.length < 352) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version2 = view.getInt32(0, littleEndian) === 540;
  const headerEnd = version2 ? 540 : 348;
  if (bytes.length < headerEnd + 4 || bytes[headerEnd] === 0) return undefined;
  const voxOffset = version2 ? Number(view.getBigInt64(168, littleEndian)) : view.getFloat32(108, littleEndian);
  for (let offset = headerEnd + 4; offset + 8 <= Math.min(voxOffset, bytes.length);) {
    const size = view.getInt32(offset, littleEndian);
    const code = view.getInt32(offset + 4, littleEndian);
    if (size < 16 || offset + size > bytes.length) return undefined;
    if (code === COMMENT_EXTENSION_CODE) {
      const text = new TextDecoder().decode(bytes.subarray(offset + 8, offset + size)).replace(/\0+$/, '');
      try {
        const parsed = JSON.parse(text) as unknown;
        if (documentProblem('labels', parsed) === undefined) return parsed as LabelTable;
      } catch {
        // A comment extension written by another tool: not ours, keep looking.
      }
    }
    offset += size;
  }
  return undefined;
}
