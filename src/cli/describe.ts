import { toNested } from '../core/affine.js';
import type { Volume } from '../core/volume.js';
import { dataTypeOf, orientationOf, spacingOf, valueRange } from '../core/volume.js';

/** What `medparse info --json` prints about a volume: snake_case keys, as report.json and `models --json`. */
export interface VolumeDescription {
  dims: [number, number, number];
  spacing: [number, number, number];
  affine: number[][];
  orientation: string;
  dtype: string;
  stored_type: string | undefined;
  min: number;
  max: number;
  format: string;
  modality: string;
  description: string | undefined;
  volume?: { index: number; count: number };
  dicom?: { series_instance_uid: string; study_instance_uid: string; slices: number; series_count: number };
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
    stored_type: volume.meta.storedType,
    min,
    max,
    format: volume.meta.sourceFormat,
    modality: volume.meta.modality,
    description: volume.meta.description,
    ...(volume.meta.frame ? { volume: volume.meta.frame } : {}),
    ...(volume.meta.dicom
      ? {
          dicom: {
            series_instance_uid: volume.meta.dicom.seriesInstanceUid,
            study_instance_uid: volume.meta.dicom.studyInstanceUid,
            slices: volume.meta.dicom.sopInstanceUids.length,
            series_count: new Set(volume.meta.dicom.sliceSeriesUids ?? [volume.meta.dicom.seriesInstanceUid]).size,
          },
        }
      : {}),
    ...(volume.meta.notes?.length ? { notes: volume.meta.notes } : {}),
  };
}

export function formatDescription(d: VolumeDescription): string {
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(4));
  const lines = [
    `format       ${d.format}${d.stored_type ? ` (stored ${d.stored_type})` : ''}`,
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
      `series       ${d.dicom.series_instance_uid} (${d.dicom.slices} slices` +
        (d.dicom.series_count > 1
          ? `; ${d.dicom.series_count} series, one per slice position, read as one stack)`
          : ')'),
    );
  for (const note of d.notes ?? []) lines.push(`note         ${note}`);
  return lines.join('\n');
}
