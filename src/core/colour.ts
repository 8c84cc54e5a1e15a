/**
 * Colour arithmetic shared by the vocabulary's colour assignment, label tables and DICOM SEG: sRGB
 * (0-255) to CIELAB (D65), and the CIE76 difference between two colours.
 */

export type Rgb = readonly [number, number, number];
export type Lab = readonly [number, number, number];

const SRGB_TO_XYZ = [
  [0.4123955889674142, 0.3575834307637148, 0.1804926473817016],
  [0.2125862307855956, 0.7151703037034108, 0.0722004986433362],
  [0.0192972154917469, 0.1191838645808485, 0.9504971251315798],
];
/** D65 as the XYZ of sRGB white (the matrix's row sums), so white maps to exactly L* 100, a* = b* = 0. */
const D65_WHITE = SRGB_TO_XYZ.map((row) => row[0] + row[1] + row[2]);

/** CIELAB of an sRGB colour: L* 0..100, a* and b* about -128..127. */
export function srgbToLab(rgb: Rgb): Lab {
  const linear = rgb.map((c) => srgbToLinear(c / 255));
  const [x, y, z] = SRGB_TO_XYZ.map((row) => row[0] * linear[0] + row[1] * linear[1] + row[2] * linear[2]);
  const [fx, fy, fz] = [x / D65_WHITE[0], y / D65_WHITE[1], z / D65_WHITE[2]].map(labF);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** CIE76 colour difference: about 2 is just noticeable, above 20 two colours are told apart at a glance. */
export function deltaE(a: Rgb, b: Rgb): number {
  const [la, lb] = [srgbToLab(a), srgbToLab(b)];
  return Math.hypot(la[0] - lb[0], la[1] - lb[1], la[2] - lb[2]);
}

/** CIELAB chroma: 0 for greys; an overlay below about 15 looks like part of a greyscale image. */
export function chroma(rgb: Rgb): number {
  const [, a, b] = srgbToLab(rgb);
  return Math.hypot(a, b);
}

function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function labF(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29;
}
