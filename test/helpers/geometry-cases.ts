/**
 * Real volumes in ../shared/data of every awkward geometry (oblique, LPS, LIA as MGZ, PLI with
 * scl_inter, a broken ACDC affine), each with a prompt the test model answers on it: the output-geometry
 * tests run them through the Node engine, the browser-geometry test through browser mode too.
 */
export interface GeometryCase {
  /** Relative to ../shared/data. */
  path: string;
  prompt: string;
  what: string;
}

export const GEOMETRY_CASES: readonly GeometryCase[] = [
  { path: 'spinalcord/t2s/t2s.nii.gz', prompt: 'hippocampus', what: 'oblique LAS, 0.5 x 0.5 x 7.5 mm MR' },
  { path: 'sarcoma_ct/STS_001_CT_image.nii.gz', prompt: 'vertebral column, kidney', what: 'LPS anisotropic CT' },
  { path: 'openkbp/pt_10_ct.nii.gz', prompt: 'vertebral column', what: 'PLI CT stored with scl_inter' },
  { path: 'freesurfer/norm.mgz', prompt: 'hippocampus', what: 'LIA MGZ MR' },
  {
    path: 'acdc/patient023/patient023_frame01.nii.gz',
    prompt: 'hippocampus',
    what: 'ACDC: unit sform, pixdim 1.45 x 1.45 x 10',
  },
];
