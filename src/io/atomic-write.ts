import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { MedparseError } from '../core/errors.js';

/**
 * Writes to a temporary file beside the target and renames it into place, so a crash or a full disk
 * never leaves a file that looks complete but is not.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = temporaryBeside(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    // the temporary file may not exist or be reachable (its folder is a file): report the write's error
    await rm(temporary, { force: true }).catch(() => undefined);
    throw writeFailed(error, path);
  }
}

/** writeFileAtomic for synchronous callers (scripts and test helpers that edit a model.json). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const temporary = temporaryBeside(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temporary, data);
    renameSync(temporary, path);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // as writeFileAtomic: the write's error is the one to report
    }
    throw writeFailed(error, path);
  }
}

/** A hidden name beside `path` that no other writer picks: `.name.1a2b3c4d.partial`. */
function temporaryBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`);
}

function writeFailed(error: unknown, path: string): MedparseError {
  const reason = error instanceof Error ? error.message : String(error);
  return new MedparseError(
    'WRITE_FAILED',
    `could not write the file (${reason}); check the folder exists, is writable and has space`,
    path,
  );
}
