/**
 * Where DICOM files come from: a folder (scanned recursively), a .zip (read lazily, entry by entry), or a
 * single file. Each file is a `DicomSource` that can be read by byte range, so the scan reads only
 * headers and the pixel pass reads only pixels. Platform-free: files on disk are Node's sources
 * (file-sources.ts); here are sources over bytes in memory (files chosen or dropped in a browser, a
 * .zip among them) and over the entries of any ZipArchive.
 */
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

/** The files of an archive, in name order, as sources named "archive.zip/entry". */
export function zipSources(path: string, archive: ZipArchive): DicomSource[] {
  const cache = {};
  return (
    archive.entries
      // macOS archives carry resource forks under __MACOSX/ that look like files but are not.
      .filter((entry) => !entry.name.endsWith('/') && !entry.name.startsWith('__MACOSX/'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((entry) => new ZipEntrySource(`${path}/${entry.name}`, archive, entry, cache))
  );
}

/** One file's bytes, as a browser hands them over (a name with its folder path when a folder was chosen). */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/**
 * DICOM input from files in memory: one .zip (read from its bytes, entry by entry, with the limits of
 * a zip on disk), else the files themselves (a series chosen or dropped as files or a folder), in name
 * order so that a scan is as deterministic as a folder's. `path` names the input in messages.
 */
export async function memoryDicomInput(path: string, files: readonly NamedBytes[]): Promise<DicomInput> {
  if (files.length === 1 && /\.zip$/i.test(files[0].name)) {
    const [zip] = files;
    return { path, kind: 'zip', sources: zipSources(zip.name, await ZipArchive.fromBytes(zip.name, zip.bytes)) };
  }
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    path,
    kind: files.length === 1 ? 'file' : 'folder',
    sources: sorted.map((file) => new MemorySource(file.name, file.bytes)),
  };
}
