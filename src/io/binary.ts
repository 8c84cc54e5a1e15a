import { MedparseError } from '../core/errors.js';
import type { DataType, VoxelArray } from '../core/volume.js';
import { allocate, bytesPerVoxel } from '../core/volume.js';

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies `count` voxels of `type` starting at `offset` into a fresh, aligned typed array, swapping
 * bytes when the file's byte order differs from the machine's.
 */
export function decodeVoxels(
  bytes: Uint8Array,
  offset: number,
  type: DataType,
  count: number,
  littleEndian: boolean,
  file: string,
): VoxelArray {
  const size = bytesPerVoxel(type);
  const needed = count * size;
  if (offset < 0 || offset + needed > bytes.length) {
    throw new MedparseError(
      'TRUNCATED_FILE',
      `file is truncated: the header promises ${needed} bytes of voxel data from byte ${offset}, ` +
        `but only ${Math.max(0, bytes.length - offset)} are there`,
      file,
    );
  }
  const out = allocate(type, count);
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, needed);
  outBytes.set(bytes.subarray(offset, offset + needed));
  if (size > 1 && littleEndian !== hostIsLittleEndian) swapBytesInPlace(outBytes, size);
  return out;
}

/** How voxels are stored in a file: a type medparse keeps, or 64-bit integers it reads as float64. */
export type StoredType = DataType | 'int64' | 'uint64';

export function storedBytesPerVoxel(stored: StoredType): number {
  return stored === 'int64' || stored === 'uint64' ? 8 : bytesPerVoxel(stored);
}

/** The type a stored type is read as: 64-bit integers become float64 (exact up to 2^53, as nibabel's floats). */
export function decodedType(stored: StoredType): DataType {
  return stored === 'int64' || stored === 'uint64' ? 'float64' : stored;
}

/** decodeVoxels for any stored type, 64-bit integers included. */
export function decodeStoredVoxels(
  bytes: Uint8Array,
  offset: number,
  stored: StoredType,
  count: number,
  littleEndian: boolean,
  file: string,
): VoxelArray {
  if (stored !== 'int64' && stored !== 'uint64') return decodeVoxels(bytes, offset, stored, count, littleEndian, file);
  if (offset < 0 || offset + count * 8 > bytes.length) {
    throw new MedparseError(
      'TRUNCATED_FILE',
      `file is truncated: ${count * 8} bytes of voxel data expected from byte ${offset}`,
      file,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 8);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++)
    out[i] = Number(
      stored === 'int64' ? view.getBigInt64(i * 8, littleEndian) : view.getBigUint64(i * 8, littleEndian),
    );
  return out;
}

export function swapBytesInPlace(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads a NUL-terminated (or full-length) ASCII field. */
export function readAscii(bytes: Uint8Array, offset: number, length: number): string {
  let end = offset;
  const limit = Math.min(bytes.length, offset + length);
  while (end < limit && bytes[end] !== 0) end++;
  return new TextDecoder('latin1').decode(bytes.subarray(offset, end));
}

/**
 * Scales stored values as value * slope + intercept. Integer data with an integral slope and
 * intercept whose result fits stays integer (CT in HU as int16/int32), which keeps a 512x512x800
 * CT at 2 bytes a voxel; anything else becomes float32 (float64 stays float64).
 */
export function applyScaling(raw: VoxelArray, slope: number, intercept: number): VoxelArray {
  if (slope === 1 && intercept === 0) return raw;
  const isFloat = raw instanceof Float32Array || raw instanceof Float64Array;
  if (!isFloat && Number.isInteger(slope) && Number.isInteger(intercept)) {
    const [lo, hi] = integerRange(raw);
    const a = lo * slope + intercept;
    const b = hi * slope + intercept;
    const min = Math.min(a, b);
    const max = Math.max(a, b);
    const target: DataType | null =
      min >= -32768 && max <= 32767 ? 'int16' : min >= -2147483648 && max <= 2147483647 ? 'int32' : null;
    if (target) return scaleInto(allocate(target, raw.length), raw, slope, intercept);
  }
  const out = raw instanceof Float64Array ? new Float64Array(raw.length) : new Float32Array(raw.length);
  return scaleInto(out, raw, slope, intercept);
}

function scaleInto(out: VoxelArray, raw: VoxelArray, slope: number, intercept: number): VoxelArray {
  for (let i = 0; i < raw.length; i++) out[i] = raw[i] * slope + intercept;
  return out;
}

function integerRange(raw: VoxelArray): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] < min) min = raw[i];
    if (raw[i] > max) max = raw[i];
  }
  return min === Infinity ? [0, 0] : [min, max];
}
