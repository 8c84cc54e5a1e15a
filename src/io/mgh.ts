import { MedparseError } from '../core/errors.js';
import type { DataType, Dims3, Volume } from '../core/volume.js';
import { bytesPerVoxel, statedSpacing } from '../core/volume.js';
import { decodeVoxels } from './binary.js';
import { checkAffine, checkDimensions, chooseFrame, type FrameOptions } from './frames.js';

/** FreeSurfer MGH type codes; all data in MGH files is big-endian. */
const MGH_TYPES: Record<number, DataType> = { 0: 'uint8', 1: 'int32', 3: 'float32', 4: 'int16' };
const HEADER_BYTES = 284;

/**
 * Where one frame's voxels end and where all frames end in an (inflated) MGH file, from its header:
 * how much a reader needs. Checks the header on the way.
 */
export function mghDataExtent(
  head: Uint8Array,
  file: string,
  options: FrameOptions = {},
): { frameEnd: number; dataEnd: number; dims: Dims3; bytesPerVoxel: number; spacing: number[] } {
  const { dims, frames, type, view } = parseMghHeader(head, file);
  const frame = chooseFrame(frames, options, file);
  const perFrame = dims[0] * dims[1] * dims[2] * bytesPerVoxel(type);
  return {
    frameEnd: HEADER_BYTES + (frame + 1) * perFrame,
    dataEnd: HEADER_BYTES + frames * perFrame,
    dims,
    bytesPerVoxel: bytesPerVoxel(type),
    spacing: mghVoxelSize(view),
  };
}

/** Decodes an (already gunzipped) MGH image, with the affine as nibabel's MGHHeader.get_affine. */
export function decodeMgh(bytes: Uint8Array, file: string, options: FrameOptions = {}): Volume {
  const { dims, frames, type, view } = parseMghHeader(bytes, file);
  const frame = chooseFrame(frames, options, file);
  const perFrame = dims[0] * dims[1] * dims[2];
  const data = decodeVoxels(bytes, HEADER_BYTES + frame * perFrame * bytesPerVoxel(type), type, perFrame, false, file);
  const affine = checkAffine(mghAffine(view, dims), 'the MGH direction cosines and voxel sizes', file);
  return {
    dims,
    affine,
    data,
    ...statedSpacing(mghVoxelSize(view)),
    meta: {
      sourceFormat: 'mgh',
      sourcePath: file,
      modality: 'unknown',
      storedType: type,
      ...(frames > 1 ? { frame: { index: frame, count: frames } } : {}),
    },
  };
}

function parseMghHeader(
  bytes: Uint8Array,
  file: string,
): { dims: Dims3; frames: number; type: DataType; view: DataView } {
  if (bytes.length < HEADER_BYTES) {
    throw new MedparseError(
      'TRUNCATED_FILE',
      `file is too short (${bytes.length} bytes) to hold an MGH header (284)`,
      file,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getInt32(0, false);
  if (version !== 1)
    throw new MedparseError(
      'CORRUPT_FILE',
      `MGH version is ${version}, expected 1; the file is not MGH/MGZ or is damaged`,
      file,
    );
  const dims: Dims3 = [view.getInt32(4, false), view.getInt32(8, false), view.getInt32(12, false)];
  const frames = view.getInt32(16, false);
  checkDimensions([...dims, frames], file);
  const typeCode = view.getInt32(20, false);
  const type = MGH_TYPES[typeCode];
  if (!type)
    throw new MedparseError(
      'UNSUPPORTED_DATATYPE',
      `MGH data type code ${typeCode} is not supported (0 uchar, 1 int, 3 float, 4 short)`,
      file,
    );
  return { dims, frames, type, view };
}

function mghVoxelSize(view: DataView): number[] {
  return view.getInt16(28, false) === 1 ? [0, 1, 2].map((i) => view.getFloat32(30 + 4 * i, false)) : [1, 1, 1];
}

function mghAffine(view: DataView, dims: Dims3): number[] {
  const goodRas = view.getInt16(28, false) === 1;
  // Without valid RAS information FreeSurfer (and nibabel) assume a 1 mm LIA volume centred at 0.
  const delta = mghVoxelSize(view);
  const mdc = goodRas
    ? [0, 1, 2].map((axis) => [0, 1, 2].map((w) => view.getFloat32(42 + 12 * axis + 4 * w, false)))
    : [
        [-1, 0, 0],
        [0, 0, -1],
        [0, 1, 0],
      ];
  const centre = goodRas ? [0, 1, 2].map((i) => view.getFloat32(78 + 4 * i, false)) : [0, 0, 0];
  // Column j of the 3x3 is direction cosine j scaled by its voxel size; the centre voxel is dims/2.
  const m = (row: number, col: number) => mdc[col][row] * delta[col];
  const affine = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  for (let row = 0; row < 3; row++) {
    let offset = centre[row];
    for (let col = 0; col < 3; col++) {
      affine[row * 4 + col] = m(row, col);
      offset -= (m(row, col) * dims[col]) / 2;
    }
    affine[row * 4 + 3] = offset;
  }
  return affine;
}
