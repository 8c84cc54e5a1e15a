/** How a transfer syntax lays out the dataset and the pixel data. */
export interface TransferSyntax {
  uid: string;
  name: string;
  explicitVr: boolean;
  littleEndian: boolean;
  /** Pixel data stored as compressed fragments (PS3.5 A.4) rather than as one native value. */
  encapsulated: boolean;
  /** The dataset itself is deflated (PS3.5 A.5). */
  deflated: boolean;
  /** Whether medparse can turn this syntax's pixel data into voxels. */
  decodable: boolean;
  /** The decoder family of a compressed syntax medparse decodes. */
  codec?: CodecFamily;
}

/** Decoder families: RLE is decoded in ./rle.ts, the others by the libraries in ./codecs/. */
export type CodecFamily = 'RLE' | 'JPEG' | 'JPEG-LS' | 'JPEG 2000' | 'HTJ2K';

export const IMPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_BIG_ENDIAN = '1.2.840.10008.1.2.2';
export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

const NATIVE = new Map<string, string>([
  [IMPLICIT_LITTLE_ENDIAN, 'Implicit VR Little Endian'],
  [EXPLICIT_LITTLE_ENDIAN, 'Explicit VR Little Endian'],
  [DEFLATED_EXPLICIT_LITTLE_ENDIAN, 'Deflated Explicit VR Little Endian'],
  [EXPLICIT_BIG_ENDIAN, 'Explicit VR Big Endian'],
]);

const COMPRESSED = new Map<string, { name: string; codec?: CodecFamily }>([
  [RLE_LOSSLESS, { name: 'RLE Lossless', codec: 'RLE' }],
  ['1.2.840.10008.1.2.4.50', { name: 'JPEG Baseline (Process 1)', codec: 'JPEG' }],
  ['1.2.840.10008.1.2.4.51', { name: 'JPEG Extended (Process 2 & 4)', codec: 'JPEG' }],
  ['1.2.840.10008.1.2.4.57', { name: 'JPEG Lossless (Process 14)', codec: 'JPEG' }],
  ['1.2.840.10008.1.2.4.70', { name: 'JPEG Lossless (Process 14, Selection Value 1)', codec: 'JPEG' }],
  ['1.2.840.10008.1.2.4.80', { name: 'JPEG-LS Lossless', codec: 'JPEG-LS' }],
  ['1.2.840.10008.1.2.4.81', { name: 'JPEG-LS Near-Lossless', codec: 'JPEG-LS' }],
  ['1.2.840.10008.1.2.4.90', { name: 'JPEG 2000 (Lossless Only)', codec: 'JPEG 2000' }],
  ['1.2.840.10008.1.2.4.91', { name: 'JPEG 2000', codec: 'JPEG 2000' }],
  ['1.2.840.10008.1.2.4.201', { name: 'High-Throughput JPEG 2000 (Lossless Only)', codec: 'HTJ2K' }],
  ['1.2.840.10008.1.2.4.202', { name: 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)', codec: 'HTJ2K' }],
  ['1.2.840.10008.1.2.4.203', { name: 'High-Throughput JPEG 2000', codec: 'HTJ2K' }],
  ['1.2.840.10008.1.2.4.100', { name: 'MPEG2 Main Profile @ Main Level' }],
  ['1.2.840.10008.1.2.4.102', { name: 'MPEG-4 AVC/H.264 High Profile' }],
]);

/**
 * Describes a transfer syntax UID. Unknown UIDs are all private or newer compressed syntaxes (every
 * native one is listed), so they are treated as encapsulated and not decodable.
 */
export function transferSyntax(uid: string): TransferSyntax {
  const clean = uid.replace(/\0/g, '').trim();
  const nativeName = NATIVE.get(clean);
  if (nativeName) {
    return {
      uid: clean,
      name: nativeName,
      explicitVr: clean !== IMPLICIT_LITTLE_ENDIAN,
      littleEndian: clean !== EXPLICIT_BIG_ENDIAN,
      encapsulated: false,
      deflated: clean === DEFLATED_EXPLICIT_LITTLE_ENDIAN,
      decodable: true,
    };
  }
  const compressed = COMPRESSED.get(clean);
  return {
    uid: clean,
    name: compressed?.name ?? 'unknown transfer syntax',
    explicitVr: true,
    littleEndian: true,
    encapsulated: true,
    deflated: false,
    decodable: compressed?.codec !== undefined,
    ...(compressed?.codec ? { codec: compressed.codec } : {}),
  };
}
