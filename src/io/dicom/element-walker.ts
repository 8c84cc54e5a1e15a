/**
 * A minimal walk over DICOM element headers (tag, VR, length) that skips values without decoding
 * them. It finds where the top-level Pixel Data value starts, so that the header can be decoded
 * without touching the pixels and each slice's pixels can later be read straight from that offset.
 */

export interface DatasetEncoding {
  explicitVr: boolean;
  littleEndian: boolean;
}

export type PixelDataSearch =
  | { kind: 'found'; tagOffset: number; valueOffset: number; length: number | undefined; vr: string | undefined }
  | { kind: 'absent' }
  /** The bytes end inside an element: at least `needBytes` bytes (from the start) are needed. */
  | { kind: 'incomplete'; needBytes: number };

export interface FileMetaInformation {
  transferSyntaxUid: string | undefined;
  datasetStart: number;
}

export const PIXEL_DATA_TAG = 0x7fe00010;
const UNDEFINED_LENGTH = 0xffffffff;
const ITEM_TAG = 0xfffee000;
const ITEM_DELIMITER_TAG = 0xfffee00d;
const SEQUENCE_DELIMITER_TAG = 0xfffee0dd;
const TRANSFER_SYNTAX_TAG = 0x00020010;
/** VRs whose explicit encoding has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const IMPLICIT_LE: DatasetEncoding = { explicitVr: false, littleEndian: true };
const EXPLICIT_LE: DatasetEncoding = { explicitVr: true, littleEndian: true };

/** Thrown inside the walk when the bytes run out; turned into an 'incomplete' result. */
class OutOfBytes {
  constructor(readonly needBytes: number) {}
}

/** Thrown when the element structure makes no sense (not a byte shortage). */
export class MalformedDataset extends Error {}

interface ElementHeader {
  tag: number;
  vr: string | undefined;
  length: number;
  valueOffset: number;
}

class Cursor {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public offset: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  require(count: number): void {
    if (this.offset + count > this.bytes.length) throw new OutOfBytes(this.offset + count);
  }

  uint16(littleEndian: boolean): number {
    this.require(2);
    const value = this.view.getUint16(this.offset, littleEndian);
    this.offset += 2;
    return value;
  }

  uint32(littleEndian: boolean): number {
    this.require(4);
    const value = this.view.getUint32(this.offset, littleEndian);
    this.offset += 4;
    return value;
  }

  ascii(count: number): string {
    this.require(count);
    const text = String.fromCharCode(...this.bytes.subarray(this.offset, this.offset + count));
    this.offset += count;
    return text;
  }
}

function readElementHeader(cursor: Cursor, encoding: DatasetEncoding): ElementHeader {
  const group = cursor.uint16(encoding.littleEndian);
  const element = cursor.uint16(encoding.littleEndian);
  const tag = ((group << 16) | element) >>> 0;
  // Item and delimiter tags never carry a VR, whatever the transfer syntax.
  if (group === 0xfffe || !encoding.explicitVr) {
    const length = cursor.uint32(encoding.littleEndian);
    return { tag, vr: undefined, length, valueOffset: cursor.offset };
  }
  const vr = cursor.ascii(2);
  if (!/^[A-Z]{2}$/.test(vr)) {
    throw new MalformedDataset(
      `element (${hex4(group)},${hex4(element)}) at byte ${cursor.offset - 6} has no valid VR`,
    );
  }
  let length: number;
  if (LONG_LENGTH_VRS.has(vr)) {
    cursor.offset += 2;
    length = cursor.uint32(encoding.littleEndian);
  } else {
    length = cursor.uint16(encoding.littleEndian);
  }
  return { tag, vr, length, valueOffset: cursor.offset };
}

/**
 * Deepest nesting of sequences medparse walks. Real datasets nest a handful of levels; a file nesting
 * thousands would otherwise exhaust the stack here or in dcmjs.
 */
export const MAX_SEQUENCE_DEPTH = 64;

/** Sequences nested deeper than MAX_SEQUENCE_DEPTH. */
export class NestingTooDeep extends MalformedDataset {}

function skipValue(cursor: Cursor, header: ElementHeader, encoding: DatasetEncoding, depth: number): void {
  if (header.length !== UNDEFINED_LENGTH) {
    if (header.vr === 'SQ') checkDefinedLengthSequence(cursor.bytes, header, encoding, depth + 1);
    cursor.offset = header.valueOffset + header.length;
    return;
  }
  // An undefined-length UN holds implicit little endian content (PS3.5 6.2.2).
  const inner = header.vr === 'UN' ? IMPLICIT_LE : encoding;
  skipUndefinedLengthSequence(cursor, inner, depth + 1);
}

function checkDepth(depth: number, offset: number): void {
  if (depth > MAX_SEQUENCE_DEPTH)
    throw new NestingTooDeep(
      `sequences are nested more than ${MAX_SEQUENCE_DEPTH} deep (at byte ${offset}); no real image nests so deep`,
    );
}

/**
 * A defined-length sequence is skipped by its length, but dcmjs will descend into it: walk its items
 * to bound their nesting. Anything else odd inside is left for dcmjs to judge, as before.
 */
function checkDefinedLengthSequence(
  bytes: Uint8Array,
  header: ElementHeader,
  encoding: DatasetEncoding,
  depth: number,
): void {
  checkDepth(depth, header.valueOffset);
  const end = Math.min(bytes.length, header.valueOffset + header.length);
  const cursor = new Cursor(bytes.subarray(0, end), header.valueOffset);
  try {
    while (cursor.offset + 8 <= end) {
      const item = readElementHeader(cursor, encoding);
      if (item.tag !== ITEM_TAG) return;
      if (item.length === UNDEFINED_LENGTH) {
        skipItemUntilDelimiter(cursor, encoding, depth);
        continue;
      }
      checkDefinedLengthItem(bytes, item, encoding, depth);
      cursor.offset = item.valueOffset + item.length;
    }
  } catch (error) {
    if (error instanceof NestingTooDeep) throw error;
  }
}

/** Walks the elements of a defined-length item only to bound the nesting below it. */
function checkDefinedLengthItem(
  bytes: Uint8Array,
  item: ElementHeader,
  encoding: DatasetEncoding,
  depth: number,
): void {
  const itemEnd = Math.min(bytes.length, item.valueOffset + item.length);
  const inner = new Cursor(bytes.subarray(0, itemEnd), item.valueOffset);
  try {
    while (inner.offset < itemEnd) skipValue(inner, readElementHeader(inner, encoding), encoding, depth);
  } catch (error) {
    if (error instanceof NestingTooDeep) throw error;
  }
}

function skipUndefinedLengthSequence(cursor: Cursor, encoding: DatasetEncoding, depth: number): void {
  checkDepth(depth, cursor.offset);
  for (;;) {
    const item = readElementHeader(cursor, encoding);
    if (item.tag === SEQUENCE_DELIMITER_TAG) return;
    if (item.tag !== ITEM_TAG) throw new MalformedDataset(`expected a sequence item at byte ${item.valueOffset - 8}`);
    if (item.length !== UNDEFINED_LENGTH) {
      checkDefinedLengthItem(cursor.bytes, item, encoding, depth);
      cursor.offset = item.valueOffset + item.length;
      continue;
    }
    skipItemUntilDelimiter(cursor, encoding, depth);
  }
}

function skipItemUntilDelimiter(cursor: Cursor, encoding: DatasetEncoding, depth: number): void {
  for (;;) {
    const header = readElementHeader(cursor, encoding);
    if (header.tag === ITEM_DELIMITER_TAG) return;
    skipValue(cursor, header, encoding, depth);
  }
}

/**
 * Walks the top-level elements from `start` until Pixel Data (7FE0,0010). Pixel data nested in a
 * sequence (an icon image) is skipped with its sequence, so only the image's own is found.
 */
export function findPixelData(bytes: Uint8Array, start: number, encoding: DatasetEncoding): PixelDataSearch {
  const cursor = new Cursor(bytes, start);
  try {
    while (cursor.offset < bytes.length) {
      const tagOffset = cursor.offset;
      const header = readElementHeader(cursor, encoding);
      if (header.tag === PIXEL_DATA_TAG) {
        const length = header.length === UNDEFINED_LENGTH ? undefined : header.length;
        return { kind: 'found', tagOffset, valueOffset: header.valueOffset, length, vr: header.vr };
      }
      skipValue(cursor, header, encoding, 0);
    }
    // A skipped value can end past the bytes we have: that is a shortage, not the end of the dataset.
    if (cursor.offset > bytes.length) return { kind: 'incomplete', needBytes: cursor.offset };
    return { kind: 'absent' };
  } catch (error) {
    if (error instanceof OutOfBytes) return { kind: 'incomplete', needBytes: error.needBytes };
    throw error;
  }
}

/**
 * Reads the file meta information group (always explicit VR little endian) that starts at `start`,
 * returning the transfer syntax and where the dataset begins. Returns undefined if the bytes end
 * inside the group.
 */
export function readFileMetaInformation(bytes: Uint8Array, start: number): FileMetaInformation | undefined {
  const cursor = new Cursor(bytes, start);
  let transferSyntaxUid: string | undefined;
  try {
    for (;;) {
      if (cursor.offset + 2 > bytes.length) return { transferSyntaxUid, datasetStart: cursor.offset };
      const group = bytes[cursor.offset] | (bytes[cursor.offset + 1] << 8);
      if (group !== 0x0002) return { transferSyntaxUid, datasetStart: cursor.offset };
      const header = readElementHeader(cursor, EXPLICIT_LE);
      if (header.tag === TRANSFER_SYNTAX_TAG) transferSyntaxUid = cleanUid(cursor.ascii(header.length));
      cursor.offset = header.valueOffset + header.length;
      cursor.require(0);
    }
  } catch (error) {
    if (error instanceof OutOfBytes) return undefined;
    throw error;
  }
}

export function hasDicomPreamble(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d
  );
}

/**
 * Guesses the encoding of a dataset written without preamble and meta header (old ACR-NEMA style
 * exports): such files start with a group 0008 element, and explicit VR shows as two capital letters.
 * Returns undefined when the first bytes do not look like a dataset at all.
 */
export function guessRawDatasetEncoding(bytes: Uint8Array): DatasetEncoding | undefined {
  if (bytes.length < 8) return undefined;
  const group = bytes[0] | (bytes[1] << 8);
  if (group !== 0x0008) return undefined;
  const vr = String.fromCharCode(bytes[4], bytes[5]);
  return /^[A-Z]{2}$/.test(vr) ? EXPLICIT_LE : IMPLICIT_LE;
}

export function cleanUid(text: string): string {
  return text.replace(/[\0\s]+$/g, '').trim();
}

function hex4(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}
