import { toNested } from '../core/affine.js';
import type { Volume } from '../core/volume.js';
import { dataTypeOf, orientationOf, spacingOf, valueRange } from '../core/volume.js';

/** What `medparse info --json` prints about a volume. */
export interface VolumeDescription {
  dims: [number, number, number];
  spacing: [number, number, number];
  affine: number[][];
  orientation: string;
  dtype: string;
  storedType: string | undefined;
  min: number;
  max: number;
  format: string;
  modality: string;
  description: string | undefined;
  volume?: { index: number; count: number };
  dicom?: { seriesInstanceUid: string; studyInstanceUid: string; slices: number; seriesCount: number };
  /** What the reader did that the user should know (files skipped, a series UID derived). */
  notes?: string[];
}

export function describeVolume(volume: Volume): VolumeDescription {
  const [min, max] = valueRange(volume.data);
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return {
    dims: [...volume.dims],
    spacing: spacingOf(volume).map(round) as [number, number, number],
    affine: toNested(volume.affine).map((row) => row.map(round)),
    orientation: orientationOf(volume),
    dtype: dataTypeOf(volume.data),
    storedType: volume.meta.storedType,
    min,
    max,
    format: volume.meta.sourceFormat,
    modality: volume.meta.modality,
    description: volume.meta.description,
    ...(volume.meta.frame ? { volume: volume.meta.frame } : {}),
    ...(volume.meta.dicom
      ? {
          dicom: {
            seriesInstanceUid: volume.meta.dicom.seriesInstanceUid,
            studyInstanceUid: volume.meta.dicom.studyInstanceUid,
            slices: volume.meta.dicom.sopInstanceUids.length,
            seriesCount: new Set(volume.meta.dicom.sliceSeriesUids ?? [volume.meta.dicom.seriesInstanceUid]).size,
          },
        }
      : {}),
    ...(volume.meta.notes?.length ? { notes: volume.meta.notes } : {}),
  };
}

export function formatDescription(d: VolumeDescription): string {
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(4));
  const lines = [
    `format       ${d.format}${d.storedType ? ` (stored ${d.storedType})` : ''}`,
    `modality     ${d.modality}`,
    `dims         ${d.dims.join(' x ')}`,
    `spacing mm   ${d.spacing.map(f).join(' x ')}`,
    `orientation  ${d.orientation}`,
    `dtype        ${d.dtype}`,
    `range        ${f(d.min)} .. ${f(d.max)}`,
    'affine (voxel -> RAS mm)',
    ...d.affine.map((row) => '  ' + row.map((v) => f(v).padStart(11)).join(' ')),
  ];
  if (d.volume) lines.splice(3, 0, `volume       ${d.volume.index} of ${d.volume.count} (0-based)`);
  if (d.description) lines.push(`description  ${d.description}`);
  if (d.dicom)
    lines.push(
      `series       ${d.dicom.seriesInstanceUid} (${d.dicom.slices} slices` +
        (d.dicom.seriesCount > 1 ? `; ${d.dicom.seriesCount} series, one per slice position, read as one stack)` : ')'),
    );
  for (const note of d.notes ?? []) lines.push(`note         ${note}`);
  return lines.join('\n');
}
