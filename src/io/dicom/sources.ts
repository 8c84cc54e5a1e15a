/**
 * Where DICOM files come from: a folder (scanned recursively), a .zip (read lazily, entry by entry), or a
 * single file. Each file is a `DicomSource` that can be read by byte range, so the scan reads only
 * headers and the pixel pass reads only pixels.
 */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MedparseError } from '../../core/errors.js';
import { ZipArchive, type ZipEntry } from '../zip-archive.js';

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
  if (/\.zip$/i.test(path)) return { path, kind: 'zip', sources: await zipSources(path) };
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

/** Header reads of a zip entry up to this size inflate only a prefix; larger or later reads inflate it whole. */
const ZIP_PREFIX_READ_BYTES = 1 << 20;

/**
 * One entry of a zip, read lazily: the scan's header reads inflate only the entry's first bytes; other
 * reads inflate the whole entry once (checking its size and CRC-32) and keep it until the archive's
 * next entry is read, so at most one entry per archive is held in memory.
 */
class ZipEntrySource implements DicomSource {
  constructor(
    readonly name: string,
    private readonly archive: ZipArchive,
    private readonly entry: ZipEntry,
    private readonly cache: { entry?: ZipEntry; bytes?: Uint8Array },
  ) {}

  get size(): number {
    return this.entry.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset === 0 && length <= ZIP_PREFIX_READ_BYTES && length < this.entry.size)
      return this.archive.read(this.entry, 0, length);
    const whole = await this.whole();
    return whole.subarray(offset, Math.min(whole.length, offset + length));
  }

  async readInto(offset: number, target: Uint8Array): Promise<number> {
    const bytes = await this.read(offset, target.length);
    target.set(bytes);
    return bytes.length;
  }

  private async whole(): Promise<Uint8Array> {
    if (this.cache.entry !== this.entry || !this.cache.bytes) {
      this.cache.bytes = undefined;
      this.cache.bytes = await this.archive.read(this.entry, 0, this.entry.size);
      this.cache.entry = this.entry;
    }
    return this.cache.bytes;
  }
}

async function zipSources(path: string): Promise<DicomSource[]> {
  const archive = await ZipArchive.open(path);
  const cache = {};
  return (
    archive.entries
      // macOS archives carry resource forks under __MACOSX/ that look like files but are not.
      .filter((entry) => !entry.name.endsWith('/') && !entry.name.startsWith('__MACOSX/'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((entry) => new ZipEntrySource(`${path}/${entry.name}`, archive, entry, cache))
  );
}
