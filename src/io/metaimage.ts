import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { MedparseError } from '../core/errors.js';
import { flipRasLps } from '../core/affine.js';
import type { DataType, Dims3, Volume } from '../core/volume.js';
import { bytesPerVoxel } from '../core/volume.js';
import { decodeVoxels } from './binary.js';
import { checkDimensions, chooseFrame, type FrameOptions } from './frames.js';
import { parseNumberList } from './text-header.js';

const MET_TYPES: Record<string, DataType> = {
  MET_CHAR: 'int8',
  MET_UCHAR: 'uint8',
  MET_SHORT: 'int16',
  MET_USHORT: 'uint16',
  MET_INT: 'int32',
  MET_UINT: 'uint32',
  MET_LONG: 'int32',
  MET_ULONG: 'uint32',
  MET_FLOAT: 'float32',
  MET_DOUBLE: 'float64',
};

/**
 * Decodes MetaImage (.mha with data inline, .mhd with a data file). World space in MetaImage/ITK is
 * LPS; TransformMatrix lists each voxel axis's direction cosines in turn (ITK's convention).
 */
export function decodeMetaImage(bytes: Uint8Array, file: string, options: FrameOptions = {}): Volume {
  const { fields, dataStart } = parseHeader(bytes, file);
  const nDims = Number(fields.get('NDims'));
  const sizes = parseNumberList(fields.get('DimSize') ?? '');
  if (!(nDims >= 2 && nDims <= 4) || sizes.length !== nDims) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `MetaImage NDims = ${fields.get('NDims') ?? 'missing'} with DimSize = ${fields.get('DimSize') ?? 'missing'} is not a 2D, 3D or 4D image`,
      file,
    );
  }
  checkDimensions(sizes, file);
  const channels = Number(fields.get('ElementNumberOfChannels') ?? 1);
  if (channels !== 1)
    throw new MedparseError(
      'UNSUPPORTED_DATATYPE',
      `MetaImage with ${channels} channels per voxel is not a scalar image`,
      file,
    );
  const type = MET_TYPES[fields.get('ElementType') ?? ''];
  if (!type)
    throw new MedparseError(
      'UNSUPPORTED_DATATYPE',
      `MetaImage ElementType "${fields.get('ElementType') ?? 'missing'}" is not supported`,
      file,
    );
  const dims: Dims3 = [sizes[0], sizes[1], sizes[2] ?? 1];
  const frames = sizes[3] ?? 1;
  const frame = chooseFrame(frames, options, file);
  const payload = loadPayload(fields, bytes, dataStart, file);
  const msb = /^true$/i.test(fields.get('BinaryDataByteOrderMSB') ?? fields.get('ElementByteOrderMSB') ?? 'False');
  const perFrame = dims[0] * dims[1] * dims[2];
  const headerSize = Number(fields.get('HeaderSize') ?? 0);
  const offset = headerSize === -1 ? payload.length - perFrame * frames * bytesPerVoxel(type) : headerSize;
  const data = decodeVoxels(payload, offset + frame * perFrame * bytesPerVoxel(type), type, perFrame, !msb, file);
  return {
    dims,
    affine: buildAffine(fields, nDims, file),
    data,
    meta: {
      sourceFormat: 'metaimage',
      sourcePath: file,
      modality: modalityOf(fields.get('Modality')),
      storedType: type,
      ...(frames > 1 ? { frame: { index: frame, count: frames } } : {}),
    },
  };
}

function parseHeader(bytes: Uint8Array, file: string): { fields: Map<string, string>; dataStart: number } {
  const fields = new Map<string, string>();
  let position = 0;
  const limit = Math.min(bytes.length, 1 << 16);
  while (position < limit) {
    let end = position;
    while (end < bytes.length && bytes[end] !== 0x0a) end++;
    const line = new TextDecoder('latin1').decode(bytes.subarray(position, end)).replace(/\r$/, '');
    position = end + 1;
    // Keys are whatever precedes the first "=": ITK writes its metadata dictionary into the header,
    // and an image it read from NIfTI carries keys such as "dim[0]" and "pixdim[1]".
    const match = /^\s*([^=\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) {
      if (line.trim() === '') continue;
      throw new MedparseError(
        'CORRUPT_FILE',
        `MetaImage header line "${line.slice(0, 60)}" is not "Key = Value"`,
        file,
      );
    }
    fields.set(match[1], match[2]);
    // ElementDataFile is always the last header field; the data follows it directly.
    if (match[1] === 'ElementDataFile') return { fields, dataStart: position };
  }
  throw new MedparseError(
    'CORRUPT_FILE',
    'MetaImage header has no ElementDataFile line; the file is not MetaImage or is damaged',
    file,
  );
}

function loadPayload(fields: Map<string, string>, bytes: Uint8Array, dataStart: number, file: string): Uint8Array {
  const dataFile = fields.get('ElementDataFile') ?? '';
  let payload: Uint8Array;
  if (dataFile.toUpperCase() === 'LOCAL') {
    payload = bytes.subarray(dataStart);
  } else {
    if (/^LIST|%/i.test(dataFile))
      throw new MedparseError(
        'UNSUPPORTED_FORMAT',
        `MetaImage ElementDataFile "${dataFile}" names several files; only one data file is supported`,
        file,
      );
    const path = resolve(dirname(file), dataFile);
    if (!existsSync(path))
      throw new MedparseError(
        'FILE_NOT_FOUND',
        `the data file "${dataFile}" named by ElementDataFile does not exist (looked for ${path})`,
        file,
      );
    payload = readFileSync(path);
  }
  if (!/^true$/i.test(fields.get('CompressedData') ?? 'False')) return payload;
  try {
    return inflateSync(payload);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MedparseError(
      'CORRUPT_FILE',
      `MetaImage compressed data cannot be inflated (${reason}); the file is damaged or incomplete`,
      file,
    );
  }
}

function buildAffine(fields: Map<string, string>, nDims: number, file: string): number[] {
  const spatial = Math.min(nDims, 3);
  const spacing = parseNumberList(fields.get('ElementSpacing') ?? fields.get('ElementSize') ?? '1 1 1');
  const origin = parseNumberList(fields.get('Offset') ?? fields.get('Position') ?? fields.get('Origin') ?? '0 0 0');
  const matrix = parseNumberList(
    fields.get('TransformMatrix') ?? fields.get('Rotation') ?? fields.get('Orientation') ?? '',
  );
  const affine = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  for (let axis = 0; axis < spatial; axis++) {
    for (let row = 0; row < spatial; row++) {
      const cosine = matrix.length === nDims * nDims ? matrix[axis * nDims + row] : axis === row ? 1 : 0;
      affine[row * 4 + axis] = cosine * (spacing[axis] ?? 1);
    }
  }
  for (let row = 0; row < spatial; row++) affine[row * 4 + 3] = origin[row] ?? 0;
  if (affine.some((v) => !Number.isFinite(v)))
    throw new MedparseError(
      'CORRUPT_FILE',
      'MetaImage spacing, offset or transform holds values that are not numbers',
      file,
    );
  return flipRasLps(affine);
}

function modalityOf(value: string | undefined): Volume['meta']['modality'] {
  if (value === 'MET_MOD_CT') return 'CT';
  if (value === 'MET_MOD_MR') return 'MR';
  if (value === 'MET_MOD_PET') return 'PT';
  return 'unknown';
}
