/**
 * A .zip read lazily and defensively: only the central directory is read up front; an entry's bytes
 * are read (and inflated) when asked for, no further than asked, and a whole entry is checked against
 * its declared size and CRC-32. The archive's declared total and its compression ratio are bounded,
 * so a small archive cannot claim (or inflate to) more than medparse agrees to read.
 * Platform-free: the archive is a ByteSource, a file on Node (zip-file.ts) or bytes in memory (a .zip
 * chosen in the browser, ZipArchive.fromBytes), read and inflated by the same bounded reads as images.
 */
import { crc32 } from '../core/crc32.js';
import { MedparseError } from '../core/errors.js';
import { bufferSource } from './buffer-source.js';
import type { ByteSource } from './byte-source.js';

export interface ZipEntry {
  /** Name inside the archive, as stored ("series/IM0001"). */
  name: string;
  method: number;
  compressedSize: number;
  /** Declared uncompressed size. */
  size: number;
  crc32: number;
  localHeaderOffset: number;
  encrypted: boolean;
}

/** Largest total of declared entry sizes an archive may have. */
export const ZIP_MAX_TOTAL_BYTES = 64 * 2 ** 30;
/** Largest single entry (one DICOM file). */
export const ZIP_MAX_ENTRY_BYTES = 2 ** 31 - 1;
/**
 * Largest ratio of declared uncompressed total to archive size, once the total passes
 * ZIP_RATIO_FLOOR_BYTES. DICOM series compress 2-10x; a zip bomb claims hundreds or thousands.
 */
export const ZIP_MAX_RATIO = 200;
const ZIP_RATIO_FLOOR_BYTES = 256 * 2 ** 20;
const MAX_ENTRIES = 1_000_000;

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

export class ZipArchive {
  private constructor(
    readonly path: string,
    readonly size: number,
    readonly entries: ZipEntry[],
    private readonly source: ByteSource,
  ) {}

  /** Reads and checks the central directory of the archive `source`, named in messages by its name. */
  static async open(source: ByteSource): Promise<ZipArchive> {
    const [path, size] = [source.name, source.size()];
    const read = async (offset: number, length: number): Promise<DataView> => {
      if (offset < 0 || offset + length > size) throw corrupt(path, 'the directory points outside the archive');
      const bytes = await source.read({ skip: offset, keep: length });
      if (bytes.length < length) throw corrupt(path, 'the archive ends early');
      return new DataView(bytes.buffer, bytes.byteOffset, length);
    };
    const directory = await findDirectory(path, size, read);
    const entries = parseDirectory(path, await read(directory.offset, directory.size), directory.count);
    checkTotals(path, size, entries);
    return new ZipArchive(path, size, entries, source);
  }

  /** An archive held in memory (a .zip chosen in a browser), checked as one on disk. */
  static fromBytes(name: string, bytes: Uint8Array): Promise<ZipArchive> {
    return ZipArchive.open(bufferSource(bytes, name));
  }

  /**
   * The first `length` bytes from `offset` of an entry, inflating no further than needed. Reading a
   * whole entry (offset 0, length >= its size) also checks its size and CRC-32.
   */
  async read(entry: ZipEntry, offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(entry.size, offset + length);
    if (end <= offset || entry.size === 0) return new Uint8Array(0);
    if (entry.encrypted)
      throw new MedparseError('UNSUPPORTED_FORMAT', `entry ${entry.name} is encrypted; unzip it first`, this.path);
    if (entry.method !== 0 && entry.method !== 8)
      throw new MedparseError(
        'UNSUPPORTED_FORMAT',
        `entry ${entry.name} uses compression method ${entry.method}; re-zip it with plain deflate`,
        this.path,
      );
    const dataOffset = await this.dataOffset(entry);
    const whole = offset === 0 && end === entry.size;
    const bytes = await this.source
      .read({
        skip: dataOffset,
        length: entry.compressedSize,
        compression: entry.method === 8 ? 'deflate' : 'none',
        keep: end,
        // a whole entry must inflate to exactly its declared size: more is refused, less is caught below
        ceiling: whole && entry.method === 8 ? entry.size : undefined,
      })
      .catch((error: unknown) => {
        if (error instanceof MedparseError) throw renamed(error, this.path, entry);
        throw error;
      });
    if (bytes.length < end)
      throw corrupt(this.path, `entry ${entry.name} holds fewer bytes than its declared ${entry.size}`);
    if (whole && crc32(bytes) >>> 0 !== entry.crc32)
      throw corrupt(this.path, `entry ${entry.name} fails its CRC-32 check (the archive is damaged)`);
    return offset === 0 ? bytes : bytes.subarray(offset);
  }

  private async dataOffset(entry: ZipEntry): Promise<number> {
    const header = await this.source.read({ skip: entry.localHeaderOffset, keep: 30 });
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (header.length < 30 || view.getUint32(0, true) !== LOCAL_SIGNATURE)
      throw corrupt(this.path, `entry ${entry.name} has no local header where the directory says`);
    const start = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + entry.compressedSize > this.size)
      throw corrupt(this.path, `entry ${entry.name} runs past the end of the archive`);
    return start;
  }
}

type Reader = (offset: number, length: number) => Promise<DataView>;

async function findDirectory(
  path: string,
  size: number,
  read: Reader,
): Promise<{ offset: number; size: number; count: number }> {
  // The end record is 22 bytes plus a comment of at most 65535.
  const tailLength = Math.min(size, 22 + 65535);
  const tail = await read(size - tailLength, tailLength);
  let at = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD_SIGNATURE) {
      at = i;
      break;
    }
  }
  if (at < 0) throw corrupt(path, 'no end-of-directory record: not a zip archive, or an incomplete one');
  let count = tail.getUint16(at + 10, true);
  let directorySize = tail.getUint32(at + 12, true);
  let offset = tail.getUint32(at + 16, true);
  const eocdOffset = size - tailLength + at;
  if ((count === 0xffff || offset === 0xffffffff || directorySize === 0xffffffff) && eocdOffset >= 20) {
    const locator = await read(eocdOffset - 20, 20);
    if (locator.getUint32(0, true) === ZIP64_LOCATOR_SIGNATURE) {
      const record = await read(safeNumber(locator.getBigUint64(8, true), path), 56);
      if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) throw corrupt(path, 'the ZIP64 end record is missing');
      count = safeNumber(record.getBigUint64(32, true), path);
      directorySize = safeNumber(record.getBigUint64(40, true), path);
      offset = safeNumber(record.getBigUint64(48, true), path);
    }
  }
  if (count > MAX_ENTRIES) throw corrupt(path, `the archive claims ${count} entries`);
  // each directory record takes at least 46 bytes: a count the directory cannot hold is a lie
  if (count * 46 > directorySize || offset + directorySize > size)
    throw corrupt(path, 'the central directory does not fit in the archive');
  return { offset, size: directorySize, count };
}

function parseDirectory(path: string, view: DataView, count: number): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > view.byteLength || view.getUint32(at, true) !== CENTRAL_SIGNATURE)
      throw corrupt(path, 'the central directory is damaged');
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    if (at + 46 + nameLength + extraLength > view.byteLength) throw corrupt(path, 'the central directory is damaged');
    const nameBytes = new Uint8Array(view.buffer, view.byteOffset + at + 46, nameLength);
    const entry: ZipEntry = {
      name: new TextDecoder().decode(nameBytes),
      method: view.getUint16(at + 10, true),
      encrypted: (view.getUint16(at + 8, true) & 1) === 1,
      crc32: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    applyZip64Extra(path, entry, new DataView(view.buffer, view.byteOffset + at + 46 + nameLength, extraLength));
    if (entry.method === 0 && entry.compressedSize !== entry.size)
      throw corrupt(path, `stored entry ${entry.name} has different stored and declared sizes`);
    entries.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Sizes and offsets over 4 GiB live in the ZIP64 extra field (id 1), in this order, when saturated. */
function applyZip64Extra(path: string, entry: ZipEntry, extra: DataView): void {
  for (let at = 0; at + 4 <= extra.byteLength;) {
    const id = extra.getUint16(at, true);
    const length = extra.getUint16(at + 2, true);
    if (id === 1) {
      let field = at + 4;
      const next = (): number => {
        if (field + 8 > at + 4 + length || field + 8 > extra.byteLength) throw corrupt(path, 'a ZIP64 field is short');
        const value = safeNumber(extra.getBigUint64(field, true), path);
        field += 8;
        return value;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    at += 4 + length;
  }
}

function checkTotals(path: string, archiveSize: number, entries: ZipEntry[]): void {
  let total = 0;
  for (const entry of entries) {
    if (entry.size > ZIP_MAX_ENTRY_BYTES)
      throw corrupt(path, `entry ${entry.name} claims ${entry.size} bytes, more than one image file can be`);
    total += entry.size;
  }
  if (total > ZIP_MAX_TOTAL_BYTES || (total > ZIP_RATIO_FLOOR_BYTES && total > ZIP_MAX_RATIO * archiveSize)) {
    throw corrupt(
      path,
      `the entries claim ${(total / 2 ** 30).toFixed(1)} GiB from a ${(archiveSize / 2 ** 20).toFixed(1)} MiB archive, more than medparse inflates (a zip bomb?)`,
    );
  }
}

function safeNumber(value: bigint, path: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, 'a ZIP64 size is out of range');
  return Number(value);
}

function corrupt(path: string, why: string): MedparseError {
  return new MedparseError(
    'CORRUPT_FILE',
    `cannot unzip: ${why}; check that the archive is complete and a plain .zip`,
    path,
  );
}

function renamed(error: MedparseError, path: string, entry: ZipEntry): MedparseError {
  const reason = error.message.startsWith(`${path}: `) ? error.message.slice(path.length + 2) : error.message;
  return new MedparseError(error.code, `entry ${entry.name}: ${reason}`, path);
}
