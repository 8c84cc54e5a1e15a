/** A .zip on disk (Node): its bytes read through file-source.ts (bounded-read.ts), streaming, never more than asked. */
import { openRegularFile } from './bounded-read.js';
import { fileSource } from './file-source.js';
import { ZipArchive } from './zip-archive.js';

/** Reads and checks the central directory of the archive at `path` (only a regular file: not a FIFO or device). */
export async function openZipFile(path: string): Promise<ZipArchive> {
  await (await openRegularFile(path)).close();
  return ZipArchive.open(fileSource(path));
}
