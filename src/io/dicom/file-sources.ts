/**
 * DICOM files on disk (Node): a folder (scanned recursively), a .zip (read lazily through zip-file.ts)
 * or a single file, each file a DicomSource read by byte range.
 */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MedparseError } from '../../core/errors.js';
import { openZipFile } from '../zip-file.js';
import { zipSources, type DicomInput, type DicomSource } from './sources.js';

class FileSource implements DicomSource {
  constructor(
    readonly name: string,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(Math.max(0, Math.min(length, this.size - offset)));
    const done = await this.readInto(offset, bytes);
    return done === bytes.length ? bytes : bytes.subarray(0, done);
  }

  async readInto(offset: number, target: Uint8Array): Promise<number> {
    // O_NONBLOCK: a file swapped for a FIFO after the folder scan must not block the read
    const handle = await open(this.name, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      let done = 0;
      while (done < target.length) {
        const { bytesRead } = await handle.read(target, done, target.length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    } finally {
      await handle.close();
    }
  }
}

export async function openDicomInput(path: string): Promise<DicomInput> {
  const info = await stat(path).catch(() => {
    throw new MedparseError('FILE_NOT_FOUND', 'no such file or folder; check the path', path);
  });
  if (info.isDirectory()) return { path, kind: 'folder', sources: await folderSources(path) };
  if (/\.zip$/i.test(path)) return { path, kind: 'zip', sources: zipSources(path, await openZipFile(path)) };
  return { path, kind: 'file', sources: [new FileSource(path, info.size)] };
}

/** Every regular file under `folder`, in sorted path order so that scans are deterministic. */
async function folderSources(folder: string): Promise<DicomSource[]> {
  const sources: DicomSource[] = [];
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      sources.push(...(await folderSources(path)));
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) sources.push(new FileSource(path, info.size));
    }
  }
  return sources;
}
