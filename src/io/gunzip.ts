/** Whole-buffer gunzip with a one-line error (Node: binary.ts stays Node-free for the browser engine). */
import { gunzipSync } from 'node:zlib';
import { MedparseError } from '../core/errors.js';

export function gunzipOrThrow(bytes: Uint8Array, file: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MedparseError(
      reason.includes('unexpected end') ? 'TRUNCATED_FILE' : 'CORRUPT_FILE',
      `gzip data cannot be decompressed (${reason}); the file is damaged or incomplete: copy it again from its source`,
      file,
    );
  }
}
