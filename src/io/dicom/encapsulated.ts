/**
 * Encapsulated pixel data (PS3.5 A.4): a Basic Offset Table item, then fragment items, then a
 * sequence delimiter. Splits it into one byte run per frame.
 */

const ITEM_TAG = 0xfffee000;
const SEQUENCE_DELIMITER_TAG = 0xfffee0dd;

interface Fragment {
  /** Offset of the fragment's item tag from the first byte after the Basic Offset Table. */
  itemOffset: number;
  bytes: Uint8Array;
}

export class EncapsulationError extends Error {}

/** `bytes` starts at the Pixel Data value (the Basic Offset Table item); it may run past the delimiter. */
export function splitFrames(bytes: Uint8Array, frameCount: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || readTag(view, 0) !== ITEM_TAG)
    throw new EncapsulationError('encapsulated pixel data does not start with an offset table item');
  const tableLength = view.getUint32(4, true);
  const offsets: number[] = [];
  for (let at = 8; at + 4 <= 8 + tableLength; at += 4) offsets.push(view.getUint32(at, true));
  const fragments = readFragments(view, bytes, 8 + tableLength);
  return groupFragments(fragments, offsets, frameCount).map(concatenate);
}

function readFragments(view: DataView, bytes: Uint8Array, start: number): Fragment[] {
  const fragments: Fragment[] = [];
  let at = start;
  while (at + 8 <= bytes.length) {
    const tag = readTag(view, at);
    if (tag === SEQUENCE_DELIMITER_TAG) return fragments;
    if (tag !== ITEM_TAG) throw new EncapsulationError(`expected a fragment item at byte ${at} of the pixel data`);
    const length = view.getUint32(at + 4, true);
    if (at + 8 + length > bytes.length)
      throw new EncapsulationError('a pixel data fragment runs past the end of the file');
    fragments.push({ itemOffset: at - start, bytes: bytes.subarray(at + 8, at + 8 + length) });
    at += 8 + length;
  }
  throw new EncapsulationError('the pixel data ends without its sequence delimiter (the file is truncated)');
}

function groupFragments(fragments: Fragment[], offsets: number[], frameCount: number): Fragment[][] {
  if (offsets.length === frameCount && offsets.length > 0) {
    return offsets.map((start, f) => {
      const end = f + 1 < offsets.length ? offsets[f + 1] : Infinity;
      return fragments.filter((fragment) => fragment.itemOffset >= start && fragment.itemOffset < end);
    });
  }
  if (frameCount === 1) return [fragments];
  // Without an offset table, one fragment per frame is the only layout that can be told apart.
  if (fragments.length === frameCount) return fragments.map((fragment) => [fragment]);
  throw new EncapsulationError(
    `cannot tell which of ${fragments.length} fragments belong to which of ${frameCount} frames (no offset table)`,
  );
}

function concatenate(fragments: Fragment[]): Uint8Array {
  if (fragments.length === 1) return fragments[0].bytes;
  const out = new Uint8Array(fragments.reduce((sum, fragment) => sum + fragment.bytes.length, 0));
  let at = 0;
  for (const fragment of fragments) {
    out.set(fragment.bytes, at);
    at += fragment.bytes.length;
  }
  return out;
}

function readTag(view: DataView, at: number): number {
  return ((view.getUint16(at, true) << 16) | view.getUint16(at + 2, true)) >>> 0;
}
