import type { MedparseError } from '../../core/errors.js';
import type { Vec3 } from '../../core/affine.js';
import type { DicomSource } from './sources.js';
import type { TransferSyntax } from './transfer-syntax.js';

/** Attributes shared by every image of a series (taken from its first file). */
export interface SeriesAttributes {
  /** As written; '' while absent, then the UID derived for its group (see missing-series-uid.ts). */
  seriesInstanceUid: string;
  /** The file had no SeriesInstanceUID: `seriesInstanceUid` was derived by medparse. */
  derivedUid?: boolean;
  studyInstanceUid: string;
  frameOfReferenceUid?: string;
  sopClassUid?: string;
  /** Modality as written (CT, MR, PT, SEG, ...). */
  modality?: string;
  seriesDescription?: string;
  seriesNumber?: number;
  patientId?: string;
  patientName?: string;
  studyDate?: string;
}

/** How one frame's stored values are laid out (PS3.3 C.7.6.3, Image Pixel module). */
export interface PixelLayout {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  photometric: string;
}

/**
 * One 2D image of a series: a single-frame file, or one frame of an enhanced multi-frame file.
 * It records where its pixels are, not the pixels themselves, so a scan holds only headers.
 */
export interface SliceRecord {
  source: DicomSource;
  series: SeriesAttributes;
  sopInstanceUid: string;
  instanceNumber?: number;
  /** Index of this frame in its file (0 for single-frame files). */
  frame: number;
  frameCount: number;
  syntax: TransferSyntax;
  /** Byte offset of the Pixel Data value in the source, and its length (undefined: encapsulated). */
  pixelData: { valueOffset: number; length: number | undefined };
  layout: PixelLayout;
  rescaleSlope: number;
  rescaleIntercept: number;
  position?: Vec3;
  /** ImageOrientationPatient: row cosine then column cosine. */
  orientation?: number[];
  /** PixelSpacing: [distance between rows, distance between columns]. */
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  spacingBetweenSlices?: number;
  /** Why this image cannot be read; raised only if its series is the one being read. */
  problem?: MedparseError;
}

export function frameByteLength(layout: PixelLayout): number {
  return layout.rows * layout.columns * layout.samplesPerPixel * (layout.bitsAllocated / 8);
}
