import type { Mat4 } from '../core/affine.js';
import type { Dims3, NiftiGeometry } from '../core/volume.js';

/** The qform affine from quaternion parameters, as nibabel's Nifti1Header.get_qform. */
export function qformAffine(geometry: NiftiGeometry): number[] {
  const [b, c, d] = geometry.quatern;
  const w2 = 1 - (b * b + c * c + d * d);
  // Quaternions stored in float32 can overshoot unit length by rounding; nibabel treats that as a = 0.
  const a = w2 < 0 ? 0 : Math.sqrt(w2);
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const zooms = geometry.pixdim.map(Math.abs);
  zooms[2] *= geometry.qfac;
  const [x, y, z] = geometry.qoffset;
  return [
    r[0][0] * zooms[0],
    r[0][1] * zooms[1],
    r[0][2] * zooms[2],
    x,
    r[1][0] * zooms[0],
    r[1][1] * zooms[1],
    r[1][2] * zooms[2],
    y,
    r[2][0] * zooms[0],
    r[2][1] * zooms[1],
    r[2][2] * zooms[2],
    z,
    0,
    0,
    0,
    1,
  ];
}

export function sformAffine(geometry: NiftiGeometry): number[] {
  return [...geometry.srow[0], ...geometry.srow[1], ...geometry.srow[2], 0, 0, 0, 1];
}

/**
 * Analyze-style fallback when neither qform nor sform is set: nibabel's shape_zoom_affine with the
 * x axis flipped and the volume centred on the origin.
 */
export function baseAffine(dims: Dims3, pixdim: readonly number[]): number[] {
  const z = pixdim.map((v) => Math.abs(v) || 1);
  const centre = dims.map((n) => (n - 1) / 2);
  return [-z[0], 0, 0, centre[0] * z[0], 0, z[1], 0, -centre[1] * z[1], 0, 0, z[2], -centre[2] * z[2], 0, 0, 0, 1];
}

/** nibabel's get_best_affine: sform when its code is set, else qform, else the base affine. */
export function bestAffine(geometry: NiftiGeometry, dims: Dims3): number[] {
  if (geometry.sformCode > 0) return sformAffine(geometry);
  if (geometry.qformCode > 0) return qformAffine(geometry);
  return baseAffine(dims, geometry.pixdim);
}

/**
 * Header geometry describing `affine`: sform always; qform too when the affine is a rotation times
 * positive zooms. A sheared affine (a gantry-tilted DICOM stack) gets qform_code 0, not the nearest rigid
 * qform: a reader that prefers the qform would put the voxels on a grid the masks are not on, while
 * with no qform every reader has only the exact sform to go by.
 */
export function geometryFromAffine(affine: Mat4, code = 1): NiftiGeometry {
  const columns = [0, 1, 2].map((c) => [affine[c], affine[4 + c], affine[8 + c]]);
  const zooms = columns.map((col) => Math.hypot(col[0], col[1], col[2]));
  const unit = columns.map((col, i) => col.map((v) => v / (zooms[i] || 1)));
  const det =
    unit[0][0] * (unit[1][1] * unit[2][2] - unit[1][2] * unit[2][1]) -
    unit[1][0] * (unit[0][1] * unit[2][2] - unit[0][2] * unit[2][1]) +
    unit[2][0] * (unit[0][1] * unit[1][2] - unit[0][2] * unit[1][1]);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) unit[2] = unit[2].map((v) => -v);
  const orthogonal =
    Math.abs(dot(unit[0], unit[1])) < 1e-4 &&
    Math.abs(dot(unit[0], unit[2])) < 1e-4 &&
    Math.abs(dot(unit[1], unit[2])) < 1e-4;
  // r[row][col] with columns = unit axis directions.
  const r = [0, 1, 2].map((row) => [unit[0][row], unit[1][row], unit[2][row]]);
  return {
    qformCode: orthogonal ? code : 0,
    sformCode: code,
    quatern: orthogonal ? quaternionOf(r) : [0, 0, 0],
    qoffset: [affine[3], affine[7], affine[11]],
    qfac,
    pixdim: [zooms[0], zooms[1], zooms[2]],
    srow: [affine.slice(0, 4), affine.slice(4, 8), affine.slice(8, 12)],
    xyztUnits: 10,
  };
}

function dot(a: number[], b: number[]): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Quaternion (b, c, d) with a >= 0 of a proper rotation matrix (nifti_mat44_to_quatern). */
function quaternionOf(r: number[][]): [number, number, number] {
  let a = r[0][0] + r[1][1] + r[2][2] + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r[2][1] - r[1][2])) / a;
    c = (0.25 * (r[0][2] - r[2][0])) / a;
    d = (0.25 * (r[1][0] - r[0][1])) / a;
  } else {
    const xd = 1 + r[0][0] - (r[1][1] + r[2][2]);
    const yd = 1 + r[1][1] - (r[0][0] + r[2][2]);
    const zd = 1 + r[2][2] - (r[0][0] + r[1][1]);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r[0][1] + r[1][0])) / b;
      d = (0.25 * (r[0][2] + r[2][0])) / b;
      a = (0.25 * (r[2][1] - r[1][2])) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r[0][1] + r[1][0])) / c;
      d = (0.25 * (r[1][2] + r[2][1])) / c;
      a = (0.25 * (r[0][2] - r[2][0])) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r[0][2] + r[2][0])) / d;
      c = (0.25 * (r[1][2] + r[2][1])) / d;
      a = (0.25 * (r[1][0] - r[0][1])) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return [b, c, d];
}
