/**
 * Reads a JPEG stream's frame header (ITU T.81 B.2.2) without decoding it: which process coded it
 * and at what sample precision. DICOM labels are not always right (a JPEG Lossless label on a
 * DCT-coded stream is seen in the wild), so the decoder is chosen from the stream itself.
 */

export interface JpegFrameHeader {
  /** SOF marker (0xc0..0xcf, without DHT 0xc4, JPG 0xc8 and DAC 0xcc). */
  marker: number;
  /** Lossless processes (SOF3, SOF7, SOF11, SOF15) code sample differences, not DCT coefficients. */
  lossless: boolean;
  arithmetic: boolean;
  precision: number;
  rows: number;
  columns: number;
  components: number;
}

const SOI = 0xd8;
const SOS = 0xda;
const EOI = 0xd9;

/** The first frame header, or undefined when the bytes are not a JPEG stream or end before one. */
export function readJpegFrameHeader(bytes: Uint8Array): JpegFrameHeader | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) return undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1];
    // Fill bytes (0xff 0xff) may pad between segments.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === SOS || marker === EOI) return undefined;
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (isStartOfFrame(marker)) {
      if (at + 10 > bytes.length) return undefined;
      return {
        marker,
        lossless: (marker & 0x03) === 0x03,
        arithmetic: marker >= 0xc9,
        precision: bytes[at + 4],
        rows: (bytes[at + 5] << 8) | bytes[at + 6],
        columns: (bytes[at + 7] << 8) | bytes[at + 8],
        components: bytes[at + 9],
      };
    }
    at += 2 + length;
  }
  return undefined;
}

function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}
