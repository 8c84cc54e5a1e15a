/**
 * Compressed frames to samples: picks the decoder for the transfer syntax (for the JPEG family, for
 * the process the stream itself declares), checks that what comes out is the frame the header
 * describes, and lays the samples out as native little-endian pixel data of BitsAllocated bits, so
 * that sign, BitsStored, MONOCHROME1 and rescale are then applied exactly as for native data.
 */
import type { CodecFamily } from '../transfer-syntax.js';
import { readJpegFrameHeader } from './jpeg-markers.js';
import type { WasmCodecName } from './wasm-codecs.js';
import { decodeWithWasm, WasmCodecLoadError } from './wasm-codecs.js';

/** What the DICOM header says the frame holds. */
export interface ExpectedFrame {
  rows: number;
  columns: number;
  bitsAllocated: number;
}

/** A frame cannot be decoded: a message for the user, without the file name (the caller adds it). */
export class FrameDecodeError extends Error {
  constructor(
    message: string,
    /** True when the data is valid but of a kind medparse cannot decode (not damage). */
    readonly unsupported = false,
  ) {
    super(message);
  }
}

/**
 * Decodes one frame into `out` (rows * columns samples of BitsAllocated / 8 bytes, little endian).
 * Values narrower than BitsAllocated are zero-extended; the stored-bits mask and sign extension
 * that follow recover signed values, as for native data.
 */
export async function decodeCompressedFrame(
  family: Exclude<CodecFamily, 'RLE'>,
  encoded: Uint8Array,
  expected: ExpectedFrame,
  out: Uint8Array,
): Promise<void> {
  const decoded = family === 'JPEG' ? await decodeJpeg(encoded, expected) : await decodeWasm(family, encoded);
  checkShape(decoded, expected);
  widenInto(decoded, expected, out);
}

interface DecodedFrame {
  codec: string;
  width: number;
  height: number;
  components: number;
  /** 1 or 2 bytes per sample, little endian. */
  bytesPerSample: number;
  bytes: Uint8Array;
}

async function decodeWasm(codec: WasmCodecName, encoded: Uint8Array): Promise<DecodedFrame> {
  let result;
  try {
    result = await decodeWithWasm(codec, encoded);
  } catch (error) {
    // a decoder this platform cannot run says nothing about the data: refused as unsupported, not damaged
    if (error instanceof WasmCodecLoadError) throw new FrameDecodeError(error.message, true);
    throw new FrameDecodeError(`the ${codec} decoder failed (${describe(error)}); the frame is damaged`);
  }
  const { info, bytes } = result;
  const pixels = info.width * info.height * info.componentCount;
  return {
    codec,
    width: info.width,
    height: info.height,
    components: info.componentCount,
    bytesPerSample: pixels > 0 ? Math.round(bytes.length / pixels) : 0,
    bytes,
  };
}

/** DCT-coded streams go to libjpeg-turbo (8-bit only); lossless (SOF3) ones to jpeg-lossless-decoder-js. */
async function decodeJpeg(encoded: Uint8Array, expected: ExpectedFrame): Promise<DecodedFrame> {
  const header = readJpegFrameHeader(encoded);
  if (!header) throw new FrameDecodeError('the JPEG frame has no readable frame header (SOF); the frame is damaged');
  if (header.arithmetic)
    throw new FrameDecodeError('the JPEG frame is arithmetic-coded, which medparse does not decode', true);
  if (header.lossless) return decodeJpegLossless(encoded, expected);
  if (header.precision !== 8) {
    throw new FrameDecodeError(
      `the frame is ${header.precision}-bit lossy JPEG (JPEG Extended), which medparse does not decode (its lossy JPEG decoder is 8-bit)`,
      true,
    );
  }
  return decodeWasm('JPEG', encoded);
}

async function decodeJpegLossless(encoded: Uint8Array, expected: ExpectedFrame): Promise<DecodedFrame> {
  const { Decoder } = await import('jpeg-lossless-decoder-js');
  const decoder = new Decoder();
  const bytesPerSample = expected.bitsAllocated <= 8 ? 1 : 2;
  let samples: Uint8Array | Uint16Array;
  try {
    // The decoder reads from an ArrayBuffer: hand it a copy that holds just this frame.
    samples = decoder.decode(encoded.slice().buffer, 0, encoded.length, bytesPerSample);
  } catch (error) {
    throw new FrameDecodeError(`the JPEG Lossless decoder failed (${describe(error)}); the frame is damaged`);
  }
  const { dimX, dimY, numComp } = decoder.frame;
  return {
    codec: 'JPEG Lossless',
    width: dimX,
    height: dimY,
    components: numComp,
    bytesPerSample,
    bytes: littleEndianBytes(samples),
  };
}

function littleEndianBytes(samples: Uint8Array | Uint16Array): Uint8Array {
  if (samples instanceof Uint8Array) return samples;
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setUint16(2 * i, samples[i], true);
  return bytes;
}

function checkShape(decoded: DecodedFrame, expected: ExpectedFrame): void {
  // Some decoders return an empty frame instead of failing on a stream they cannot parse.
  if (decoded.width === 0 || decoded.height === 0 || decoded.components === 0)
    throw new FrameDecodeError(`the ${decoded.codec} decoder found no image in the frame; the frame is damaged`);
  if (decoded.width !== expected.columns || decoded.height !== expected.rows) {
    throw new FrameDecodeError(
      `the ${decoded.codec} frame is ${decoded.width}x${decoded.height} but the header says ${expected.columns}x${expected.rows} (Columns x Rows)`,
    );
  }
  if (decoded.components !== 1)
    throw new FrameDecodeError(
      `the ${decoded.codec} frame has ${decoded.components} components, not 1 (grayscale)`,
      true,
    );
  const sampleBytes = expected.bitsAllocated / 8;
  if (![1, 2].includes(decoded.bytesPerSample) || decoded.bytesPerSample > sampleBytes) {
    throw new FrameDecodeError(
      `the ${decoded.codec} frame decodes to ${decoded.bytesPerSample}-byte samples, which do not fit BitsAllocated ${expected.bitsAllocated}`,
    );
  }
  if (decoded.bytes.length < decoded.width * decoded.height * decoded.bytesPerSample)
    throw new FrameDecodeError(`the ${decoded.codec} decoder returned fewer samples than the frame holds`);
}

function widenInto(decoded: DecodedFrame, expected: ExpectedFrame, out: Uint8Array): void {
  const sampleBytes = expected.bitsAllocated / 8;
  const count = expected.rows * expected.columns;
  if (decoded.bytesPerSample === sampleBytes) {
    out.set(decoded.bytes.subarray(0, count * sampleBytes));
    return;
  }
  out.fill(0);
  for (let i = 0; i < count; i++) {
    for (let b = 0; b < decoded.bytesPerSample; b++)
      out[i * sampleBytes + b] = decoded.bytes[i * decoded.bytesPerSample + b];
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
