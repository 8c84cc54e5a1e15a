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
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`);
  try {
    await mkdir(directory, { recursive: true });
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    const reason = error instanceof Error ? error.message : String(error);
    throw new MedparseError(
      'WRITE_FAILED',
      `could not write the file (${reason}); check the folder exists, is writable and has space`,
      path,
    );
  }
}

/** writeFileAtomic for synchronous callers (scripts and test helpers that edit a model.json). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temporary, data);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    const reason = error instanceof Error ? error.message : String(error);
    throw new MedparseError(
      'WRITE_FAILED',
      `could not write the file (${reason}); check the folder exists, is writable and has space`,
      path,
    );
  }
}
