/** A .zip on disk (Node): its bytes read through bounded-read.ts, streaming, never more than asked. */
import { openRegularFile, readBounded } from './bounded-read.js';
import { ZipArchive, type ZipStore } from './zip-archive.js';

/** Reads and checks the central directory of the archive at `path`. */
export async function openZipFile(path: string): Promise<ZipArchive> {
  const handle = await openRegularFile(path);
  let size: number;
  try {
    size = (await handle.stat()).size;
  } finally {
    await handle.close();
  }
  return ZipArchive.fromStore(path, new FileZipStore(path, size));
}

class FileZipStore implements ZipStore {
  constructor(
    private readonly path: string,
    readonly size: number,
  ) {}

  read(offset: number, length: number): Promise<Uint8Array> {
    return readBounded(this.path, { skip: offset, keep: length });
  }

  entryData(offset: number, length: number, deflated: boolean, keep: number, ceiling?: number): Promise<Uint8Array> {
    return readBounded(this.path, {
      skip: offset,
      length,
      compression: deflated ? 'deflate' : 'none',
      keep,
      ceiling,
    });
  }
}
