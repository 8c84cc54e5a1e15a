/**
 * RLE Lossless decoding (PS3.5 Annex G). A frame is a 64-byte header (segment count and up to 15
 * segment offsets) followed by PackBits-coded segments, one per byte of each sample, most
 * significant byte first.
 */

export class RleError extends Error {}

/**
 * Decodes one frame into `out` as little-endian samples of `bytesPerSample` bytes (so it can be
 * read like native little-endian pixel data). `out.length` is pixels * bytesPerSample.
 */
export function decodeRleFrame(frame: Uint8Array, bytesPerSample: number, out: Uint8Array): void {
  if (frame.length < 64) throw new RleError('RLE frame is shorter than its 64-byte header');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segmentCount = view.getUint32(0, true);
  if (segmentCount !== bytesPerSample) {
    throw new RleError(
      `RLE frame has ${segmentCount} segments, but ${bytesPerSample}-byte grayscale samples need ${bytesPerSample}`,
    );
  }
  const pixelCount = out.length / bytesPerSample;
  for (let segment = 0; segment < segmentCount; segment++) {
    const start = view.getUint32(4 + 4 * segment, true);
    const end = segment + 1 < segmentCount ? view.getUint32(8 + 4 * segment, true) : frame.length;
    // Segment 0 holds the most significant byte, which sits last in a little-endian sample.
    const byteInSample = bytesPerSample - 1 - segment;
    decodePackBits(frame, start, Math.min(end, frame.length), out, byteInSample, bytesPerSample, pixelCount);
  }
}

/** PackBits: header n >= 0 copies n+1 literal bytes; -127..-1 repeats the next byte 1-n times; -128 is a no-op. */
function decodePackBits(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  first: number,
  stride: number,
  count: number,
): void {
  let at = start;
  let written = 0;
  while (written < count && at < end) {
    const header = (src[at++] << 24) >> 24;
    if (header >= 0) {
      const run = Math.min(header + 1, count - written, end - at);
      for (let i = 0; i < run; i++) out[first + stride * written++] = src[at++];
    } else if (header !== -128) {
      const run = Math.min(1 - header, count - written);
      const value = src[at++];
      for (let i = 0; i < run; i++) out[first + stride * written++] = value;
    }
  }
  if (written < count) throw new RleError(`RLE segment decodes to ${written} of ${count} bytes`);
}
