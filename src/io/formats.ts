/**
 * Which image format a file is, by its name and by its first bytes: shared by the Node reader (read.ts)
 * and the file-system-free one (read-bytes.ts, the in-browser engine).
 */
export type ImageFormat = 'nifti' | 'mgh' | 'nrrd' | 'metaimage' | 'dicom';

const EXTENSIONS: Array<[RegExp, ImageFormat]> = [
  [/\.(nii|nii\.gz|hdr|img|img\.gz|hdr\.gz)$/i, 'nifti'],
  [/\.(mgh|mgz|mgh\.gz)$/i, 'mgh'],
  [/\.(nrrd|nhdr)$/i, 'nrrd'],
  [/\.(mha|mhd)$/i, 'metaimage'],
  [/\.(dcm|zip)$/i, 'dicom'],
];

export const SUPPORTED_INPUTS =
  'NIfTI (.nii, .nii.gz, .hdr/.img), MGH (.mgh, .mgz), NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd), or DICOM (a folder or .zip of one series)';

export function formatFromExtension(path: string): ImageFormat | undefined {
  return EXTENSIONS.find(([pattern]) => pattern.test(path))?.[1];
}

/** Recognises a format from its first bytes (after gunzip); undefined when nothing matches. */
export function formatFromContent(bytes: Uint8Array): ImageFormat | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64));
  if (head.startsWith('NRRD000')) return 'nrrd';
  if (/^\s*(ObjectType|NDims|Comment|TransformType)\s*=/.test(head)) return 'metaimage';
  if (bytes.length > 132 && new TextDecoder('latin1').decode(bytes.subarray(128, 132)) === 'DICM') return 'dicom';
  if (bytes.length >= 348) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = view.getInt32(0, true);
    const swapped = view.getInt32(0, false);
    if (size === 348 || size === 540 || swapped === 348 || swapped === 540) return 'nifti';
    if (swapped === 1 && bytes.length >= 284 && view.getInt32(4, false) > 0) return 'mgh';
  }
  return undefined;
}
