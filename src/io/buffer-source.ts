/**
 * The browser's ByteSource: a file's bytes in memory. Compressed data are inflated with the web
 * platform's DecompressionStream (browsers and Node alike), bounded as readBounded bounds them: never
 * past what the range keeps, and a stream that would inflate past its ceiling is refused. Without a
 * file system, a data file a header names and the .img of a .hdr are refused with what to open instead.
 */
import { MedparseError } from '../core/errors.js';
import { BoundedOutput } from './bounded-output.js';
import { compressedBound, type ByteRange, type ByteSource, type Compression } from './byte-source.js';

/** The web's names for the compressions ranges use: MetaImage's zlib stream is its "deflate". */
const WEB_FORMATS: Record<Exclude<Compression, 'none'>, CompressionFormat> = {
  gzip: 'gzip',
  zlib: 'deflate',
  deflate: 'deflate-raw',
};

export function bufferSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: () => bytes.length,
    read: (range) => readRange(bytes, name, range),
    detached: (named, field, attachedForm) => {
      throw new MedparseError(
        'UNSUPPORTED_FORMAT',
        `${field} names a separate data file ("${named}"), which cannot be read here; open ${attachedForm}, or read it on the server`,
        name,
      );
    },
    pairedImage: () => {
      throw new MedparseError(
        'UNSUPPORTED_FORMAT',
        'is the header of a .hdr/.img pair; save the image as one .nii or .nii.gz file',
        name,
      );
    },
  };
}

/** readBounded's contract over bytes in memory; an uncompressed range is a view, not a copy. */
async function readRange(bytes: Uint8Array, name: string, range: ByteRange): Promise<Uint8Array> {
  const skip = range.skip ?? 0;
  const compression = range.compression ?? 'none';
  const compressed = range.fileGzip === true || compression !== 'none';
  const ceiling = compressed && range.ceiling !== undefined ? Math.max(range.ceiling, range.keep) : undefined;
  // as readBounded: `length` bounds a part of the file's own bytes, not of a whole-file gzip's
  const end = range.length === undefined || range.fileGzip ? Infinity : skip + range.length;
  if (compression === 'none') {
    const body = range.fileGzip
      ? await inflate(bytes, 'gzip', name, skip + range.keep, ceiling === undefined ? undefined : skip + ceiling)
      : bytes;
    return body.subarray(skip, Math.min(end, skip + range.keep));
  }
  // the part is compressed itself, inside a file that may be gzip as a whole: inflate the file as far
  // as the part's compressed bytes can honestly reach, then the part
  const reach = skip + compressedBound(ceiling ?? range.keep);
  const body = range.fileGzip
    ? await inflate(bytes, 'gzip', name, reach, ceiling === undefined ? undefined : reach)
    : bytes;
  return inflate(body.subarray(skip, end), WEB_FORMATS[compression], name, range.keep, ceiling);
}

/**
 * Inflates `bytes` and keeps the first `keep` bytes. Without a `ceiling` it stops there (a header
 * probe); with one, the rest of the stream is inflated (not kept) up to it, and a stream longer than
 * that is refused as a decompression bomb.
 */
export async function inflate(
  bytes: Uint8Array,
  format: CompressionFormat,
  name: string,
  keep: number,
  ceiling?: number,
): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream(format));
  const reader = stream.getReader();
  const output = new BoundedOutput(keep, ceiling);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const state = output.push(value);
      if (state === 'over')
        throw new MedparseError(
          'CORRUPT_FILE',
          `inflates past the ${ceiling} bytes its header describes (a decompression bomb, or a corrupt header); refused`,
          name,
        );
      if (state === 'enough') break;
    }
  } catch (error) {
    if (error instanceof MedparseError) throw error;
    throw new MedparseError(
      'TRUNCATED_FILE',
      `its ${format} data end early or are corrupt (${error instanceof Error ? error.message : String(error)}); the file is incomplete`,
      name,
    );
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return output.bytes();
}
