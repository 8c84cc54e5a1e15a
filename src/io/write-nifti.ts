import { gzipSync } from 'node:zlib';
import { writeFileAtomic } from './atomic-write.js';
import { documentProblem } from './documents.js';
import { labelTablePath, writeLabelTable, type LabelTable } from './label-table.js';
import { COMMENT_EXTENSION_CODE, encodeNifti, type EncodeNiftiOptions } from './nifti-encode.js';
import type { Volume } from '../core/volume.js';

export { encodeNifti, NIFTI1_MAX_DIM, niftiVersionFor, type EncodeNiftiOptions } from './nifti-encode.js';

export interface WriteNiftiOptions extends EncodeNiftiOptions {
  /** A label map's legend is also written beside the file as `<stem>.json`. */
  labelTable?: LabelTable;
  /** zlib level for .nii.gz (1 = fastest, 9 = smallest). */
  compressionLevel?: number;
}

/**
 * Writes a volume as NIfTI (.nii or .nii.gz by extension): NIfTI-1, or NIfTI-2 when an axis is longer
 * than NIfTI-1's 16-bit dim fields hold (32767). When the volume came from NIfTI and its grid is
 * unchanged, the input's own qform/sform fields are written back untouched, so the output's geometry
 * is bit-for-bit the input's.
 */
export async function writeNifti(path: string, volume: Volume, options: WriteNiftiOptions = {}): Promise<void> {
  const bytes = encodeNifti(volume, options);
  const gzip = /\.gz$/i.test(path);
  await writeFileAtomic(path, gzip ? gzipSync(bytes, { level: options.compressionLevel ?? 6 }) : bytes);
  if (options.labelTable) {
    await writeLabelTable(labelTablePath(path), options.labelTable);
  }
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
