/**
 * Reading files whose sizes come from a header nobody vouches for. Every read here is bounded by the
 * bytes the header needs: an uncompressed file is read only that far, a compressed stream is inflated
 * while streaming and stops at the bound, and a stream that would inflate well past what the header
 * describes (a decompression bomb) is refused instead of filling memory. Only regular files are
 * opened, and they are opened so that a FIFO or device cannot block or stream for ever.
 */
import { constants, createReadStream, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Buffer, kMaxLength } from 'node:buffer';
import { createGunzip, createInflate, createInflateRaw, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { MedparseError } from '../core/errors.js';
import { BoundedOutput } from './bounded-output.js';
import { compressedBound, type ByteRange } from './byte-source.js';

/** readBounded reads a ByteRange of a file (byte-source.ts describes the fields). */
export type BoundedReadOptions = ByteRange;

const CHUNK_BYTES = 1 << 20;

/** Refuses a FIFO, device, socket or folder: only regular files hold images. */
export async function openRegularFile(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MedparseError('FILE_NOT_FOUND', 'no such file; check the path', path);
    throw new MedparseError('FILE_NOT_FOUND', `cannot open the file (${code ?? String(error)})`, path);
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `is not a regular file (${describeFileType(info)}); medparse reads images only from regular files`,
      path,
    );
  }
  return handle;
}

function describeFileType(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  if (info.isDirectory()) return 'a folder';
  return 'not a plain file';
}

/** Thrown by the collector to end a pipeline once it has what it needs. */
class Enough extends Error {}

/**
 * Reads at most `keep` bytes of `path` (after the optional whole-file gunzip, `skip`, and the part's own
 * decompression), streaming: memory never holds more than `keep` bytes of output.
 */
export async function readBounded(path: string, options: BoundedReadOptions): Promise<Uint8Array> {
  const skip = options.skip ?? 0;
  const compression = options.compression ?? 'none';
  const compressed = options.fileGzip === true || compression !== 'none';
  if (!compressed) return readPlain(path, skip, Math.min(options.keep, options.length ?? Infinity));
  const ceiling = options.ceiling !== undefined ? Math.max(options.ceiling, options.keep) : undefined;
  if (ceiling !== undefined && !(options.fileGzip && compression !== 'none'))
    return readInflatedWhole(path, { ...options, ceiling });
  const handle = await openRegularFile(path);
  const collector = new Collector(new BoundedOutput(options.keep, ceiling));
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = [
    createReadStream('', {
      fd: handle,
      start: options.fileGzip ? 0 : skip,
      ...(options.length !== undefined && !options.fileGzip ? { end: skip + options.length - 1 } : {}),
      autoClose: true,
      highWaterMark: CHUNK_BYTES,
    }),
  ];
  // large chunks: the default 16 KiB ones make a 100 MB image thousands of small copies
  const zlibOptions = { chunkSize: CHUNK_BYTES };
  if (options.fileGzip) stages.push(createGunzip(zlibOptions), new Skip(skip));
  if (compression === 'gzip') stages.push(createGunzip(zlibOptions));
  if (compression === 'zlib') stages.push(createInflate(zlibOptions));
  if (compression === 'deflate') stages.push(createInflateRaw(zlibOptions));
  stages.push(collector);
  try {
    await pipeline(stages);
  } catch (error) {
    if (!(error instanceof Enough)) throw decompressionError(error, path);
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (ceiling !== undefined && collector.output.total > ceiling) throw bombError(path, ceiling);
  const bytes = collector.output.bytes();
  // a plain Uint8Array over the chunk's memory, as every reader returns
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * A whole compressed part inflated in one call, at most to `ceiling` (zlib stops there and the file is
 * refused): as bounded as the streaming path and several times faster for whole images.
 */
async function readInflatedWhole(path: string, options: BoundedReadOptions & { ceiling: number }): Promise<Uint8Array> {
  const skip = options.skip ?? 0;
  const start = options.fileGzip ? 0 : skip;
  const outputLimit = Math.min(kMaxLength, options.fileGzip ? skip + options.ceiling : options.ceiling);
  const compressed = await readPlain(path, start, Math.min(options.length ?? Infinity, compressedBound(outputLimit)));
  const zlibOptions = { maxOutputLength: outputLimit, chunkSize: CHUNK_BYTES };
  let output: Buffer;
  try {
    if (options.fileGzip || options.compression === 'gzip') output = gunzipSync(compressed, zlibOptions);
    else if (options.compression === 'zlib') output = inflateSync(compressed, zlibOptions);
    else output = inflateRawSync(compressed, zlibOptions);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw bombError(path, options.ceiling);
    throw decompressionError(error, path);
  }
  const part = options.fileGzip ? output.subarray(skip) : output;
  return new Uint8Array(part.buffer, part.byteOffset, Math.min(part.length, options.keep));
}

/**
 * Up to `length` bytes of a regular file from `start`, read into one buffer of the size needed: an
 * uncompressed image is in memory once, not as chunks and then their concatenation.
 */
async function readPlain(path: string, start: number, length: number): Promise<Uint8Array> {
  const handle = await openRegularFile(path);
  try {
    const size = (await handle.stat()).size;
    // not pooled: callers get a buffer of their own, at offset 0
    const bytes = Buffer.allocUnsafeSlow(Math.max(0, Math.min(length, size - start)));
    let done = 0;
    while (done < bytes.length) {
      // at most 1 GiB a call: one read may not ask for 2 GiB or more
      const { bytesRead } = await handle.read(bytes, done, Math.min(bytes.length - done, 1 << 30), start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return new Uint8Array(bytes.buffer, 0, done);
  } finally {
    await handle.close();
  }
}

function bombError(path: string, ceiling: number): MedparseError {
  return new MedparseError(
    'CORRUPT_FILE',
    `compressed data inflates to more than the ${ceiling} bytes its header describes (a decompression bomb or a damaged file); refused`,
    path,
  );
}

/** A pipeline's end: feeds its output to a BoundedOutput and stops the pipeline once that wants no more. */
class Collector extends Writable {
  constructor(readonly output: BoundedOutput) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    callback(this.output.push(chunk) === 'more' ? null : new Enough());
  }
}

/** Drops the first `count` bytes of a stream. */
class Skip extends Transform {
  constructor(private remaining: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.remaining >= chunk.length) {
      this.remaining -= chunk.length;
      callback();
      return;
    }
    const rest = chunk.subarray(this.remaining);
    this.remaining = 0;
    callback(null, rest);
  }
}

function decompressionError(error: unknown, file: string): MedparseError {
  if (error instanceof MedparseError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (!code.startsWith('Z_') && !/incorrect header|unexpected end|invalid/i.test(reason))
    return new MedparseError('CORRUPT_FILE', `cannot read the file (${reason})`, file);
  const truncated = code === 'Z_BUF_ERROR' || reason.includes('unexpected end');
  return new MedparseError(
    truncated ? 'TRUNCATED_FILE' : 'CORRUPT_FILE',
    `compressed data cannot be decompressed (${reason}); the file is damaged or incomplete: copy it again from its source`,
    file,
  );
}
