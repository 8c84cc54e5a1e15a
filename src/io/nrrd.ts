import { MedparseError } from '../core/errors.js';
import { flipRasLps } from '../core/affine.js';
import type { DataType, Dims3, Volume, VoxelArray } from '../core/volume.js';
import { allocate, bytesPerVoxel } from '../core/volume.js';
import { decodeVoxels } from './binary.js';
import { checkAffine, checkDimensions, chooseFrame, type FrameOptions } from './frames.js';
import { findBlankLine, parseNumberList } from './text-header.js';

const NRRD_TYPES: Record<string, DataType> = {
  'signed char': 'int8',
  int8: 'int8',
  int8_t: 'int8',
  uchar: 'uint8',
  'unsigned char': 'uint8',
  uint8: 'uint8',
  uint8_t: 'uint8',
  short: 'int16',
  'short int': 'int16',
  'signed short': 'int16',
  'signed short int': 'int16',
  int16: 'int16',
  int16_t: 'int16',
  ushort: 'uint16',
  'unsigned short': 'uint16',
  'unsigned short int': 'uint16',
  uint16: 'uint16',
  uint16_t: 'uint16',
  int: 'int32',
  'signed int': 'int32',
  int32: 'int32',
  int32_t: 'int32',
  uint: 'uint32',
  'unsigned int': 'uint32',
  uint32: 'uint32',
  uint32_t: 'uint32',
  float: 'float32',
  double: 'float64',
};

/** Sign of each world axis relative to RAS for the NRRD "space" field. */
const SPACES: Record<string, 'RAS' | 'LPS'> = {
  'right-anterior-superior': 'RAS',
  ras: 'RAS',
  'scanner-xyz': 'RAS',
  'left-posterior-superior': 'LPS',
  lps: 'LPS',
  '3d-right-handed': 'RAS',
};

type Fields = Map<string, string>;

/** A parsed NRRD header: what the voxels are and where they are, before any of them is read. */
export interface NrrdHeader {
  fields: Fields;
  geometry: NrrdGeometry;
  type: DataType;
  encoding: 'raw' | 'gzip' | 'text';
  /** Where attached data starts in the header's file; undefined when the data is in a detached file. */
  dataStart: number | undefined;
  /**
   * The detached data file as the header names it; a reader with a file system resolves it safely
   * (resolveDetachedFile), one without refuses it.
   */
  dataFileName: string | undefined;
}

/** Parses the header at the start of `bytes` (the first bytes of the file are enough). */
export function parseNrrdHeader(bytes: Uint8Array, file: string): NrrdHeader {
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 8)));
  if (!text.startsWith('NRRD000'))
    throw new MedparseError('CORRUPT_FILE', 'not a NRRD file: it does not begin with "NRRD000"', file);
  const blank = findBlankLine(bytes);
  const detached = isDetachedHeader(bytes);
  if (!blank && !detached)
    throw new MedparseError('TRUNCATED_FILE', 'NRRD header has no blank line ending it; the file is incomplete', file);
  const headerText = new TextDecoder('latin1').decode(bytes.subarray(0, blank ? blank.headerEnd : bytes.length));
  const fields = parseFields(headerText);
  const geometry = parseGeometry(fields, file);
  const type = NRRD_TYPES[(fields.get('type') ?? '').toLowerCase()];
  if (!type)
    throw new MedparseError('UNSUPPORTED_DATATYPE', `NRRD type "${fields.get('type') ?? ''}" is not supported`, file);
  const dataFileName = fields.get('data file') ?? fields.get('datafile');
  if (dataFileName && /^list|%/i.test(dataFileName))
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `NRRD data file "${dataFileName}" names several files; only one detached data file is supported`,
      file,
    );
  return {
    fields,
    geometry,
    type,
    encoding: encodingOf(fields, file),
    dataStart: dataFileName ? undefined : (blank?.dataStart ?? bytes.length),
    dataFileName: dataFileName || undefined,
  };
}

function encodingOf(fields: Fields, file: string): NrrdHeader['encoding'] {
  const encoding = (fields.get('encoding') ?? 'raw').toLowerCase();
  if (encoding === 'gzip' || encoding === 'gz') return 'gzip';
  if (encoding === 'raw') return 'raw';
  if (encoding === 'text' || encoding === 'ascii' || encoding === 'txt') return 'text';
  throw new MedparseError(
    'UNSUPPORTED_FORMAT',
    `NRRD encoding "${encoding}" is not supported (raw, gzip and text are); re-save with gzip encoding`,
    file,
  );
}

/** Longest text a voxel value may take in text encoding (digits, sign, exponent, separator). */
const TEXT_BYTES_PER_VALUE = 32;

/**
 * How many payload bytes the header needs (after decompression): every frame's voxels after the
 * byte skip. With "byte skip: -1" (the data are the payload's last bytes) nothing can be skipped,
 * so the payload may be larger by the allowance for a trailer.
 */
export function nrrdPayloadBytes(header: NrrdHeader): { keep: number; tail: boolean } {
  const total = header.geometry.dims[0] * header.geometry.dims[1] * header.geometry.dims[2] * header.geometry.frames;
  if (header.encoding === 'text') return { keep: total * TEXT_BYTES_PER_VALUE, tail: false };
  const byteSkip = Number(header.fields.get('byte skip') ?? 0);
  if (byteSkip === -1) return { keep: total * bytesPerVoxel(header.type), tail: true };
  return { keep: Math.max(0, byteSkip) + total * bytesPerVoxel(header.type), tail: false };
}

/** Decodes the voxels of the chosen frame from the payload (decompressed, starting at the data). */
export function decodeNrrdPayload(
  header: NrrdHeader,
  payload: Uint8Array,
  file: string,
  options: FrameOptions = {},
): Volume {
  const { geometry, fields, type } = header;
  const frame = chooseFrame(geometry.frames, options, file);
  const data = decodePayload(payload, fields, type, geometry, frame, file);
  return {
    dims: geometry.dims,
    affine: geometry.affine,
    data,
    meta: {
      sourceFormat: 'nrrd',
      sourcePath: file,
      modality: 'unknown',
      storedType: type,
      description: fields.get('content'),
      ...(geometry.frames > 1 ? { frame: { index: frame, count: geometry.frames } } : {}),
    },
  };
}

function isDetachedHeader(bytes: Uint8Array): boolean {
  return /\ndata ?file:/i.test(new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 65536))));
}

function parseFields(headerText: string): Fields {
  const fields: Fields = new Map();
  for (const line of headerText.split(/\r?\n/).slice(1)) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([^:]+?):=?\s?(.*)$/.exec(line);
    if (match) fields.set(match[1].trim().toLowerCase(), match[2].trim());
  }
  return fields;
}

interface NrrdGeometry {
  dims: Dims3;
  frames: number;
  /** Position of the frame axis among the NRRD axes (fastest first), or -1. */
  frameAxis: number;
  sizes: number[];
  affine: number[];
}

function parseGeometry(fields: Fields, file: string): NrrdGeometry {
  const sizes = parseNumberList(fields.get('sizes') ?? '');
  const dimension = Number(fields.get('dimension'));
  if (!sizes.length || sizes.length !== dimension) {
    throw new MedparseError(
      'CORRUPT_FILE',
      `NRRD "sizes" (${fields.get('sizes') ?? 'missing'}) does not match "dimension" (${fields.get('dimension') ?? 'missing'})`,
      file,
    );
  }
  checkDimensions(sizes, file);
  const directions = parseDirections(fields.get('space directions'), sizes.length);
  const spatialAxes = directions
    ? directions.map((d, i) => (d ? i : -1)).filter((i) => i >= 0)
    : sizes.map((_, i) => i).slice(0, 3);
  const otherAxes = sizes.map((_, i) => i).filter((i) => !spatialAxes.includes(i));
  if (spatialAxes.length < 2 || spatialAxes.length > 3 || otherAxes.length > 1) {
    throw new MedparseError(
      'INVALID_DIMENSIONS',
      `NRRD with ${spatialAxes.length} spatial axes and ${otherAxes.length} other axes is not a 3D or 4D volume`,
      file,
    );
  }
  const frameAxis = otherAxes.length === 1 ? otherAxes[0] : -1;
  if (frameAxis !== -1 && frameAxis !== 0 && frameAxis !== sizes.length - 1) {
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      'NRRD whose non-spatial axis sits between spatial axes is not supported',
      file,
    );
  }
  const dims: Dims3 = [sizes[spatialAxes[0]], sizes[spatialAxes[1]], sizes[spatialAxes[2]] ?? 1];
  const affine = buildAffine(fields, directions, spatialAxes, file);
  return { dims, frames: frameAxis === -1 ? 1 : sizes[frameAxis], frameAxis, sizes, affine };
}

function parseDirections(text: string | undefined, count: number): Array<number[] | null> | undefined {
  if (!text) return undefined;
  const parts = text.match(/none|\([^)]*\)/gi) ?? [];
  if (parts.length !== count) return undefined;
  return parts.map((p) => (p.toLowerCase() === 'none' ? null : parseNumberList(p.replace(/[()]/g, ''))));
}

function buildAffine(
  fields: Fields,
  directions: Array<number[] | null> | undefined,
  spatialAxes: number[],
  file: string,
): number[] {
  const spaceName = (fields.get('space') ?? '').toLowerCase();
  const space = SPACES[spaceName];
  if (spaceName && !space)
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `NRRD space "${fields.get('space')}" is not a 3D patient space medparse understands`,
      file,
    );
  const origin = parseNumberList((fields.get('space origin') ?? '(0,0,0)').replace(/[()]/g, ''));
  const affine = [0, 0, 0, origin[0] ?? 0, 0, 0, 0, origin[1] ?? 0, 0, 0, 0, origin[2] ?? 0, 0, 0, 0, 1];
  const spacings = parseNumberList(fields.get('spacings') ?? '');
  spatialAxes.forEach((axis, column) => {
    const direction = directions?.[axis] ?? unitAxis(column, spacings[axis]);
    for (let row = 0; row < 3; row++) affine[row * 4 + column] = direction[row] ?? 0;
  });
  if (spatialAxes.length === 2) affine[10] = 1;
  if (affine.some((v) => !Number.isFinite(v)))
    throw new MedparseError('CORRUPT_FILE', 'NRRD space directions or origin hold values that are not numbers', file);
  return checkAffine(space === 'LPS' ? flipRasLps(affine) : affine, 'NRRD space directions', file);
}

function unitAxis(column: number, spacing: number | undefined): number[] {
  const s = Number.isFinite(spacing) && spacing ? spacing : 1;
  return [0, 1, 2].map((row) => (row === column ? s : 0));
}

function decodePayload(
  payload: Uint8Array,
  fields: Fields,
  type: DataType,
  geometry: NrrdGeometry,
  frame: number,
  file: string,
): VoxelArray {
  const perFrame = geometry.dims[0] * geometry.dims[1] * geometry.dims[2];
  const encoding = (fields.get('encoding') ?? 'raw').toLowerCase();
  if (encoding === 'text' || encoding === 'ascii' || encoding === 'txt') {
    const values = parseNumberList(new TextDecoder('latin1').decode(payload));
    if (values.length < perFrame * geometry.frames)
      throw new MedparseError(
        'TRUNCATED_FILE',
        `NRRD text data holds ${values.length} values, ${perFrame * geometry.frames} expected`,
        file,
      );
    return pickFrame(values, type, perFrame, geometry, frame);
  }
  const byteSkip = Number(fields.get('byte skip') ?? 0);
  const littleEndian = (fields.get('endian') ?? 'little').toLowerCase() !== 'big';
  const total = perFrame * geometry.frames;
  // "byte skip: -1" means the data is the last bytes of the (decompressed) payload.
  const offset = byteSkip === -1 ? payload.length - total * bytesPerVoxel(type) : byteSkip;
  if (geometry.frameAxis === 0 && geometry.frames > 1) {
    return pickFrame(decodeVoxels(payload, offset, type, total, littleEndian, file), type, perFrame, geometry, frame);
  }
  return decodeVoxels(payload, offset + frame * perFrame * bytesPerVoxel(type), type, perFrame, littleEndian, file);
}

/** Takes one frame from data whose frame axis is either fastest (interleaved) or slowest. */
function pickFrame(
  values: ArrayLike<number>,
  type: DataType,
  perFrame: number,
  geometry: NrrdGeometry,
  frame: number,
): VoxelArray {
  const out = allocate(type, perFrame);
  if (geometry.frameAxis === 0) {
    for (let i = 0; i < perFrame; i++) out[i] = values[i * geometry.frames + frame];
  } else {
    for (let i = 0; i < perFrame; i++) out[i] = values[frame * perFrame + i];
  }
  return out;
}

export function looksLikeNrrd(bytes: Uint8Array): boolean {
  return bytes.length >= 7 && new TextDecoder('latin1').decode(bytes.subarray(0, 7)) === 'NRRD000';
}
