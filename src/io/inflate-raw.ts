/**
 * Raw deflate inflated in memory and bounded, on any platform (fflate, pure JavaScript): a DICOM
 * dataset of the Deflated transfer syntax, a zip entry read from an archive held in memory. No header
 * says honestly how large the output is, so the caller gives a ceiling and a stream that would inflate
 * past it is refused before it can fill memory.
 */
import { Inflate } from 'fflate';
import { BoundedOutput } from './bounded-output.js';

/** The stream inflates past the caller's ceiling (a decompression bomb, or a damaged header). */
export class InflateLimitError extends Error {
  constructor(readonly ceiling: number) {
    super(`inflates past ${ceiling} bytes`);
  }
}

/** The data end before the deflate stream does, or are not deflate at all. */
export class InflateDataError extends Error {
  constructor(
    message: string,
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

/** Input fed to the inflater at a time: deflate expands at most about 1032:1, so one push yields at most ~66 MB. */
const PUSH_BYTES = 64 * 1024;

/** Thrown by the collector to stop once it has what it needs. */
class Enough extends Error {}

/**
 * The first `keep` bytes of the inflated stream. Without a `ceiling` inflation stops there (a header
 * probe); with one, the whole stream is inflated (only `keep` bytes kept) and one longer than the
 * ceiling is refused with an InflateLimitError.
 */
export function inflateRawBounded(compressed: Uint8Array, keep: number, ceiling?: number): Uint8Array {
  const output = new BoundedOutput(keep, ceiling);
  const inflater = new Inflate((chunk) => {
    const state = output.push(chunk);
    if (state === 'over' && ceiling !== undefined) throw new InflateLimitError(ceiling);
    if (state === 'enough') throw new Enough();
  });
  try {
    for (let at = 0; at < compressed.length || at === 0; at += PUSH_BYTES) {
      const end = Math.min(compressed.length, at + PUSH_BYTES);
      inflater.push(compressed.subarray(at, end), end >= compressed.length);
      if (end >= compressed.length) break;
    }
  } catch (error) {
    if (!(error instanceof Enough)) throw dataError(error);
  }
  return output.bytes();
}

function dataError(error: unknown): Error {
  if (error instanceof InflateLimitError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InflateDataError(message, /unexpected EOF/i.test(message));
}
