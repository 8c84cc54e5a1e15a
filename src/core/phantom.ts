import type { Volume } from './volume.js';

export interface PhantomOptions {
  dims?: [number, number, number];
  spacing?: [number, number, number];
  /** Seed of the deterministic noise, so the same options always give the same volume. */
  seed?: number;
}

/** Ellipsoids of the phantom: centre and radii as fractions of the field of view, value in HU. */
export const PHANTOM_STRUCTURES = [
  { name: 'body', label: 1, centre: [0.5, 0.5, 0.5], radii: [0.45, 0.38, 0.6], hu: 40 },
  { name: 'liver', label: 2, centre: [0.33, 0.45, 0.55], radii: [0.16, 0.14, 0.16], hu: 60 },
  { name: 'spleen', label: 3, centre: [0.7, 0.62, 0.58], radii: [0.06, 0.07, 0.09], hu: 50 },
  { name: 'kidney_right', label: 4, centre: [0.33, 0.68, 0.4], radii: [0.05, 0.05, 0.09], hu: 150 },
  { name: 'kidney_left', label: 5, centre: [0.67, 0.68, 0.4], radii: [0.05, 0.05, 0.09], hu: 150 },
  { name: 'vertebra', label: 6, centre: [0.5, 0.72, 0.5], radii: [0.05, 0.05, 0.5], hu: 700 },
] as const;

/**
 * A small synthetic abdominal CT in HU (int16) with an LPS-stored, RAS-described affine: the built-in
 * input for `medparse info --demo`, for tests and for benchmarks. Voxel axis i runs to the patient's
 * left (as in DICOM), so the patient's right is at low i.
 */
export function makePhantomCt(options: PhantomOptions = {}): Volume {
  const [nx, ny, nz] = options.dims ?? [128, 128, 64];
  const [sx, sy, sz] = options.spacing ?? [2.5, 2.5, 4];
  const data = new Int16Array(nx * ny * nz);
  let state = (options.seed ?? 1) >>> 0 || 1;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        const noise = ((state >>> 0) / 4294967296 - 0.5) * 20;
        data[i + nx * (j + ny * k)] = Math.round(phantomValue(i / nx, j / ny, k / nz) + noise);
      }
    }
  }
  const affine = [
    -sx,
    0,
    0,
    (sx * (nx - 1)) / 2,
    0,
    -sy,
    0,
    (sy * (ny - 1)) / 2,
    0,
    0,
    sz,
    -(sz * (nz - 1)) / 2,
    0,
    0,
    0,
    1,
  ];
  return {
    dims: [nx, ny, nz],
    affine,
    data,
    meta: {
      sourceFormat: 'generated',
      modality: 'CT',
      description: 'medparse synthetic abdominal CT phantom',
      storedType: 'int16',
    },
  };
}

/** Label value (PHANTOM_STRUCTURES[].label) of the innermost structure at a fractional position. */
export function phantomLabelAt(x: number, y: number, z: number): number {
  let label = 0;
  for (const s of PHANTOM_STRUCTURES) if (inside(s, x, y, z)) label = s.label;
  return label;
}

function phantomValue(x: number, y: number, z: number): number {
  let value = -1000;
  for (const s of PHANTOM_STRUCTURES) if (inside(s, x, y, z)) value = s.hu;
  return value;
}

function inside(s: (typeof PHANTOM_STRUCTURES)[number], x: number, y: number, z: number): boolean {
  const dx = (x - s.centre[0]) / s.radii[0];
  const dy = (y - s.centre[1]) / s.radii[1];
  const dz = (z - s.centre[2]) / s.radii[2];
  return dx * dx + dy * dy + dz * dz <= 1;
}
