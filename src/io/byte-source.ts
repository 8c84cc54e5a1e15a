/**
 * Where a reader's bytes come from: a file on Node (file-source.ts, streamed and bounded) or a file's
 * bytes in memory in a browser (buffer-source.ts). The readers' front end (open-image.ts) asks only for
 * bounded ranges, so each format is dispatched and opened once, for both. This module imports nothing
 * from Node: browser bundles import it.
 */
import { isGzip } from './binary.js';

export type Compression = 'none' | 'gzip' | 'zlib' | 'deflate';

/** A part of a file to read, bounded by what a header (which nobody vouches for) says it needs. */
export interface ByteRange {
  /** The whole file is gzip (.nii.gz, .mgz): offsets count in its inflated bytes. */
  fileGzip?: boolean;
  /** Bytes to skip (in the file's own, possibly inflated, bytes) before the part read. */
  skip?: number;
  /** Bytes of the file the part spans from `skip` (a zip entry's compressed bytes); to the end when absent. */
  length?: number;
  /** Compression of the part read itself (NRRD's gzip encoding, MetaImage's CompressedData, a zip entry). */
  compression?: Compression;
  /** Bytes to keep: the read stops as soon as this many are in hand. */
  keep: number;
  /**
   * For compressed data: the most it may inflate to (the header's needs plus any trailer a format
   * allows). The stream is inflated (not kept) up to here, and past it the file is refused as a
   * decompression bomb. Without a ceiling the read simply stops at `keep` (a header probe).
   */
  ceiling?: number;
}

/** Headroom for what a compressed image may hold after its voxels (MGH's trailing tags, padding). */
export const TRAILER_ALLOWANCE = 1 << 20;

/** One image file, or the file a header points to. */
export interface ByteSource {
  /** The file's path or name: the format is read from its extension, and messages name it. */
  readonly name: string;
  /** The file's size in bytes. */
  size(): number;
  /** At most `range.keep` bytes of the range; compressed data are inflated no further than `range` allows. */
  read(range: ByteRange): Promise<Uint8Array>;
  /**
   * The data file a text header names (NRRD "data file:", MetaImage ElementDataFile; `field` says
   * which). Refused where it cannot be reached: `attachedForm` is the single-file form to open instead.
   */
  detached(named: string, field: string, attachedForm: string): ByteSource;
  /** The .img file holding the voxels of this .hdr (an Analyze-style NIfTI pair), named `imageName`. */
  pairedImage(imageName: string): ByteSource;
}

/**
 * Deflate expands incompressible data by at most 5 bytes per 16 KiB block: compressed data larger
 * than this for `output` bytes cannot be an honest stream.
 */
export function compressedBound(output: number): number {
  return output + Math.ceil(output / 16384) * 5 + (1 << 20);
}

/** Whether the source is gzip as a whole (its first two bytes). */
export async function isGzipSource(source: ByteSource): Promise<boolean> {
  return isGzip(await source.read({ keep: 2 }));
}
