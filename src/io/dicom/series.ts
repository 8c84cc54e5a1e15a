/** Grouping scanned images into series, describing them, and choosing the one to read. */
import { MedparseError } from '../../core/errors.js';
import type { ScannedInput } from './scan.js';
import type { SliceRecord } from './slice.js';

export interface DicomSeriesSummary {
  seriesInstanceUid: string;
  studyInstanceUid: string;
  /** Modality as written in the files (CT, MR, PT, SEG, ...); empty when absent. */
  modality: string;
  description: string;
  seriesNumber?: number;
  /** Number of 2D images: files, or frames of multi-frame files. */
  sliceCount: number;
  fileCount: number;
  /** [columns, rows, slices] of the first image's grid. */
  dims: [number, number, number];
  /** Why the series cannot be read, when a file of it is damaged or compressed unreadably. */
  problem?: string;
}

/** Slices grouped by SeriesInstanceUID, in order of first appearance (sorted file paths). */
export function groupBySeries(slices: readonly SliceRecord[]): Map<string, SliceRecord[]> {
  const groups = new Map<string, SliceRecord[]>();
  for (const slice of slices) {
    const uid = slice.series.seriesInstanceUid;
    const group = groups.get(uid);
    if (group) group.push(slice);
    else groups.set(uid, [slice]);
  }
  return groups;
}

export function summarizeSeries(slices: readonly SliceRecord[]): DicomSeriesSummary {
  const { series, layout } = slices[0];
  return {
    seriesInstanceUid: series.seriesInstanceUid,
    studyInstanceUid: series.studyInstanceUid,
    modality: series.modality ?? '',
    description: series.seriesDescription ?? '',
    seriesNumber: series.seriesNumber,
    sliceCount: slices.length,
    fileCount: new Set(slices.map((slice) => slice.source)).size,
    dims: [layout.columns, layout.rows, slices.length],
    problem: slices.find((slice) => slice.problem)?.problem?.message,
  };
}

/** One line per series, for the CLI and for MULTIPLE_SERIES messages. */
export function formatSeriesList(list: readonly DicomSeriesSummary[]): string {
  return list
    .map((s) => {
      const description = s.description ? `"${s.description}"` : '(no description)';
      const problem = s.problem ? ` [unreadable: ${s.problem}]` : '';
      return `${s.seriesInstanceUid}  ${s.modality || '??'}  ${description}  ${s.sliceCount} slice(s), ${s.dims.join('x')}${problem}`;
    })
    .join('\n');
}

/** The slices of the requested series, or of the only one; explains the choice otherwise. */
export function selectSeries(scanned: ScannedInput, requestedUid: string | undefined): SliceRecord[] {
  const groups = groupBySeries(scanned.slices);
  const summaries = () => formatSeriesList([...groups.values()].map(summarizeSeries)).replace(/^/gm, '  ');
  if (requestedUid !== undefined) {
    const chosen = groups.get(requestedUid.trim());
    if (chosen) return chosen;
    throw new MedparseError(
      'INVALID_ARGUMENT',
      `no series with SeriesInstanceUID ${requestedUid}; the series found are:\n${summaries()}\nchoose one with --series UID`,
      scanned.input.path,
    );
  }
  if (groups.size === 1) return [...groups.values()][0];
  throw new MedparseError(
    'MULTIPLE_SERIES',
    `holds ${groups.size} DICOM series:\n${summaries()}\nchoose one with --series UID`,
    scanned.input.path,
  );
}
