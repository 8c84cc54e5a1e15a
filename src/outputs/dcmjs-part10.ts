/**
 * Reads a whole Part 10 file with dcmjs, for checking what medparse wrote. Attribute access goes
 * through the reader's typed facade (DicomDataset); only the pixel data, which the facade does not
 * expose, is narrowed here.
 */
import dcmjs from 'dcmjs';
import type { NaturalDataset } from 'dcmjs';
import { DicomDataset } from '../io/dicom/dcmjs.js';

export interface Part10File {
  dataset: DicomDataset;
  /** The PixelData value as stored (native encoding), or undefined when there is none. */
  pixelData: Uint8Array | undefined;
}

export function readPart10(bytes: Uint8Array): Part10File {
  const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const dict = DicomMessage.readFile(buffer, { ignoreErrors: false });
  const natural: NaturalDataset = DicomMetaDictionary.naturalizeDataset(dict.dict);
  return { dataset: new DicomDataset(natural), pixelData: pixelBytes(natural.PixelData) };
}

/** dcmjs gives native pixel data as a list of ArrayBuffers (one, for native syntaxes). */
function pixelBytes(value: unknown): Uint8Array | undefined {
  const parts = (Array.isArray(value) ? value : [value]).filter(
    (part): part is ArrayBuffer => part instanceof ArrayBuffer,
  );
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return new Uint8Array(parts[0]);
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(new Uint8Array(part), at);
    at += part.byteLength;
  }
  return out;
}
