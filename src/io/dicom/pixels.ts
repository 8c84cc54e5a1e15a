/**
 * Turns one frame's stored values into output voxels: byte order, bits stored, sign, MONOCHROME1
 * inversion, then RescaleSlope/RescaleIntercept (CT numbers to HU).
 */
import { swapBytesInPlace } from '../binary.js';
import type { PixelLayout } from './slice.js';

export type OutputArray = Int16Array | Float32Array;

export interface Rescale {
  slope: number;
  intercept: number;
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The smallest and largest stored value the layout can hold (after masking to BitsStored). */
export function storedRange(layout: PixelLayout): [number, number] {
  return layout.signed
    ? [-(2 ** (layout.bitsStored - 1)), 2 ** (layout.bitsStored - 1) - 1]
    : [0, 2 ** layout.bitsStored - 1];
}

/** Whether every possible value of this frame, rescaled, is an integer that fits in int16. */
export function fitsInt16(layout: PixelLayout, rescale: Rescale): boolean {
  if (rescale.slope !== 1 || !Number.isInteger(rescale.intercept)) return false;
  const [low, high] = storedRange(layout);
  return low + rescale.intercept >= -32768 && high + rescale.intercept <= 32767;
}

/** Data type as stored on disk ("int16", "uint16", ...), for VolumeMeta.storedType. */
export function storedTypeName(layout: PixelLayout): string {
  return `${layout.signed ? 'int' : 'uint'}${layout.bitsAllocated}`;
}

/**
 * A reusable, aligned buffer for one frame. Frames sit at arbitrary file offsets, which typed arrays
 * cannot view unless aligned, so each frame is read (or copied) into this buffer first.
 */
export class FrameScratch {
  private buffer = new ArrayBuffer(0);

  bytes(length: number): Uint8Array {
    if (this.buffer.byteLength !== length) this.buffer = new ArrayBuffer(length);
    return new Uint8Array(this.buffer);
  }

  /** The buffer, after putting the samples written by the caller into host byte order. */
  hostOrder(bytesPerSample: number, littleEndian: boolean): ArrayBuffer {
    if (bytesPerSample > 1 && littleEndian !== hostIsLittleEndian)
      swapBytesInPlace(new Uint8Array(this.buffer), bytesPerSample);
    return this.buffer;
  }
}

/** Views the stored samples as written (before any bit masking). */
function storedView(buffer: ArrayBuffer, layout: PixelLayout, signed: boolean): ArrayLike<number> {
  switch (layout.bitsAllocated) {
    case 8:
      return signed ? new Int8Array(buffer) : new Uint8Array(buffer);
    case 16:
      return signed ? new Int16Array(buffer) : new Uint16Array(buffer);
    default:
      return signed ? new Int32Array(buffer) : new Uint32Array(buffer);
  }
}

/**
 * Stored values as numbers, with bits beyond BitsStored dropped (overlays, or a HighBit below the
 * top), sign-extended, and MONOCHROME1 inverted. Most images need none of this and are viewed as is.
 */
function storedValues(buffer: ArrayBuffer, layout: PixelLayout): ArrayLike<number> {
  const shift = layout.highBit + 1 - layout.bitsStored;
  const rawBits = layout.bitsStored < layout.bitsAllocated || shift !== 0;
  const invert = layout.photometric === 'MONOCHROME1';
  // Raw bits are read unsigned so they can be masked and sign-extended by hand.
  const stored = storedView(buffer, layout, layout.signed && !rawBits);
  if (!rawBits && !invert) return stored;
  const out = new Float64Array(stored.length);
  const signBits = 32 - layout.bitsStored;
  const mask = 2 ** layout.bitsStored - 1;
  // MONOCHROME1 shows low values bright: v becomes max - v (unsigned) or -1 - v (signed), as in GDCM.
  const invertBase = layout.signed ? -1 : mask;
  for (let i = 0; i < stored.length; i++) {
    let value = stored[i];
    if (rawBits) value = layout.signed ? ((value >>> shift) << signBits) >> signBits : (value >>> shift) % (mask + 1);
    out[i] = invert ? invertBase - value : value;
  }
  return out;
}

/**
 * Writes one frame (host-order samples in `buffer`) into `target` from `offset`. Returns false,
 * having stopped part-way, when `target` is an Int16Array and a value does not fit; the caller then
 * switches to Float32Array and writes the frame again.
 */
export function writeFrame(
  buffer: ArrayBuffer,
  layout: PixelLayout,
  rescale: Rescale,
  target: OutputArray,
  offset: number,
): boolean {
  const values = storedValues(buffer, layout);
  if (target instanceof Float32Array) {
    writeRescaled(values, rescale, target, offset);
    return true;
  }
  if (rescale.slope !== 1 || !Number.isInteger(rescale.intercept)) return false;
  if (fitsInt16(layout, rescale)) {
    writeShifted(values, rescale.intercept, target, offset);
    return true;
  }
  return writeShiftedChecked(values, rescale.intercept, target, offset);
}

// The loops below are kept separate and branch-light so that V8 compiles each to a tight loop.

function writeRescaled(
  values: ArrayLike<number>,
  { slope, intercept }: Rescale,
  target: Float32Array,
  offset: number,
): void {
  const out = target.subarray(offset, offset + values.length);
  for (let i = 0; i < out.length; i++) out[i] = values[i] * slope + intercept;
}

function writeShifted(values: ArrayLike<number>, intercept: number, target: Int16Array, offset: number): void {
  const out = target.subarray(offset, offset + values.length);
  for (let i = 0; i < out.length; i++) out[i] = values[i] + intercept;
}

function writeShiftedChecked(
  values: ArrayLike<number>,
  intercept: number,
  target: Int16Array,
  offset: number,
): boolean {
  const out = target.subarray(offset, offset + values.length);
  for (let i = 0; i < out.length; i++) {
    const value = values[i] + intercept;
    if (value < -32768 || value > 32767) return false;
    out[i] = value;
  }
  return true;
}
