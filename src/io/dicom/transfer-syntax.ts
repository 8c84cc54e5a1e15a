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
}

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

const COMPRESSED = new Map<string, string>([
  [RLE_LOSSLESS, 'RLE Lossless'],
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless (Process 14)'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless (Process 14, Selection Value 1)'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 (Lossless Only)'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000'],
  ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 (Lossless Only)'],
  ['1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)'],
  ['1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000'],
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile @ Main Level'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile'],
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
  return {
    uid: clean,
    name: COMPRESSED.get(clean) ?? 'unknown transfer syntax',
    explicitVr: true,
    littleEndian: true,
    encapsulated: true,
    deflated: false,
    decodable: clean === RLE_LOSSLESS,
  };
}
