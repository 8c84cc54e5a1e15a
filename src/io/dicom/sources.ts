/**
 * Where DICOM files come from: a folder (scanned recursively), a .zip (unzipped in memory), or a
 * single file. Each file is a `DicomSource` that can be read by byte range, so the scan reads only
 * headers and the pixel pass reads only pixels.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { MedparseError } from '../../core/errors.js';

export interface DicomSource {
  /** Path (or "archive.zip/entry") used in messages. */
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset + length), clipped to the end of the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Fills `target` from `offset`; resolves to the number of bytes read (less at the end). */
  readInto(offset: number, target: Uint8Array): Promise<number>;
}

export interface DicomInput {
  /** What the user named, for messages. */
  path: string;
  kind: 'folder' | 'zip' | 'file';
  sources: DicomSource[];
}

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
    const handle = await open(this.name, 'r');
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

export class MemorySource implements DicomSource {
  constructor(
    readonly name: string,
    private readonly bytes: Uint8Array,
  ) {}

  get size(): number {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, Math.min(this.bytes.length, offset + length));
  }

  async readInto(offset: number, target: Uint8Array): Promise<number> {
    const bytes = this.bytes.subarray(offset, Math.min(this.bytes.length, offset + target.length));
    target.set(bytes);
    return bytes.length;
  }
}

export async function openDicomInput(path: string): Promise<DicomInput> {
  const info = await stat(path).catch(() => {
    throw new MedparseError('FILE_NOT_FOUND', 'no such file or folder; check the path', path);
  });
  if (info.isDirectory()) return { path, kind: 'folder', sources: await folderSources(path) };
  if (/\.zip$/i.test(path)) return { path, kind: 'zip', sources: zipSources(path, await readFile(path)) };
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

function zipSources(path: string, zip: Uint8Array): DicomSource[] {
  let entries: Record<string, Uint8Array>;
  try {
    // macOS archives carry resource forks under __MACOSX/ that look like files but are not.
    entries = unzipSync(zip, { filter: (file) => !file.name.endsWith('/') && !file.name.startsWith('__MACOSX/') });
  } catch (error) {
    throw new MedparseError(
      'CORRUPT_FILE',
      `cannot unzip (${(error as Error).message}); check that the archive is complete and is a plain .zip`,
      path,
    );
  }
  return Object.keys(entries)
    .sort()
    .map((name) => new MemorySource(`${path}/${name}`, entries[name]));
}
