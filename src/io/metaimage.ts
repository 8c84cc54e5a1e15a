import { MedparseError } from '../core/errors.js';
import { flipRasLps } from '../core/affine.js';
import type { DataType, Dims3, Volume } from '../core/volume.js';
import { decodeStoredVoxels, decodedType, storedBytesPerVoxel, type StoredType } from './binary.js';
import { checkAffine, checkDimensions, chooseFrame, type FrameOptions } from './frames.js';
import { parseNumberList } from './text-header.js';

const MET_TYPES: Record<string, StoredType> = {
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
  // SimpleITK writes numpy's default integers (int64 label maps) this way
  MET_LONG_LONG: 'int64',
  MET_ULONG_LONG: 'uint64',
};

/** A parsed MetaImage header: what the voxels are and where they are, before any of them is read. */
export interface MetaImageHeader {
  fields: Map<string, string>;
  nDims: number;
  dims: Dims3;
  frames: number;
  /** How the voxels are stored, and the type they are read as (64-bit integers as float64). */
  stored: StoredType;
  type: DataType;
  compressed: boolean;
  /** Where LOCAL data starts in the header's file; undefined when the data is in a data file. */
  dataStart: number | undefined;
  /**
   * The data file ElementDataFile names (not LOCAL); a reader with a file system resolves it safely
   * (resolveDetachedFile), one without refuses it.
   */
  dataFileName: string | undefined;
}

/**
 * Parses a MetaImage header (.mha with data inline, .mhd with a data file) from the file's first
 * bytes. World space in MetaImage/ITK is LPS; TransformMatrix lists each voxel axis's direction
 * cosines in turn (ITK's convention).
 */
export function parseMetaImageHeader(bytes: Uint8Array, file: string): MetaImageHeader {
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
  const stored = MET_TYPES[fields.get('ElementType') ?? ''];
  if (!stored)
    throw new MedparseError(
      'UNSUPPORTED_DATATYPE',
      `MetaImage ElementType "${fields.get('ElementType') ?? 'missing'}" is not supported`,
      file,
    );
  const dataFileName = fields.get('ElementDataFile') ?? '';
  const local = dataFileName.toUpperCase() === 'LOCAL';
  if (!local && /^LIST|%/i.test(dataFileName))
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `MetaImage ElementDataFile "${dataFileName}" names several files; only one data file is supported`,
      file,
    );
  return {
    fields,
    nDims,
    dims: [sizes[0], sizes[1], sizes[2] ?? 1],
    frames: sizes[3] ?? 1,
    stored,
    type: decodedType(stored),
    compressed: /^true$/i.test(fields.get('CompressedData') ?? 'False'),
    dataStart: local ? dataStart : undefined,
    dataFileName: local ? undefined : dataFileName,
  };
}

/**
 * How many payload bytes the header needs (after decompression). With "HeaderSize = -1" (the data
 * are the last bytes) the payload may be larger by what is skipped: reported as `tail`.
 */
export function metaImagePayloadBytes(header: MetaImageHeader): { keep: number; tail: boolean } {
  const total = header.dims[0] * header.dims[1] * header.dims[2] * header.frames * storedBytesPerVoxel(header.stored);
  const headerSize = Number(header.fields.get('HeaderSize') ?? 0);
  if (headerSize === -1) return { keep: total, tail: true };
  return { keep: Math.max(0, headerSize) + total, tail: false };
}

/** Decodes the chosen frame from the payload (decompressed, from the data's first byte). */
export function decodeMetaImagePayload(
  header: MetaImageHeader,
  payload: Uint8Array,
  file: string,
  options: FrameOptions = {},
): Volume {
  const { fields, dims, frames, stored } = header;
  const size = storedBytesPerVoxel(stored);
  const frame = chooseFrame(frames, options, file);
  const msb = /^true$/i.test(fields.get('BinaryDataByteOrderMSB') ?? fields.get('ElementByteOrderMSB') ?? 'False');
  const perFrame = dims[0] * dims[1] * dims[2];
  const headerSize = Number(fields.get('HeaderSize') ?? 0);
  const offset = headerSize === -1 ? payload.length - perFrame * frames * size : headerSize;
  const data = decodeStoredVoxels(payload, offset + frame * perFrame * size, stored, perFrame, !msb, file);
  return {
    dims,
    affine: buildAffine(fields, header.nDims, file),
    data,
    meta: {
      sourceFormat: 'metaimage',
      sourcePath: file,
      modality: modalityOf(fields.get('Modality')),
      storedType: stored,
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
  return checkAffine(flipRasLps(affine), 'MetaImage spacing and TransformMatrix', file);
}

export function modalityOf(value: string | undefined): Volume['meta']['modality'] {
  if (value === 'MET_MOD_CT') return 'CT';
  if (value === 'MET_MOD_MR') return 'MR';
  if (value === 'MET_MOD_PET') return 'PT';
  return 'unknown';
}
