/** Grouping scanned images into series, describing them, and choosing the one to read. */
import { MedparseError } from '../../core/errors.js';
import type { ScannedInput } from './scan.js';
import { largestSeriesStack, seriesAsOneStack } from './series-stack.js';
import type { SliceRecord } from './slice.js';

export interface DicomSeriesSummary {
  seriesInstanceUid: string;
  /** The files have no SeriesInstanceUID: `seriesInstanceUid` was derived by medparse from what they share. */
  derivedUid?: boolean;
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
    ...(series.derivedUid ? { derivedUid: true } : {}),
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
      const derived = s.derivedUid ? ' (no SeriesInstanceUID in the files; UID derived by medparse)' : '';
      return `${s.seriesInstanceUid}${derived}  ${s.modality || '??'}  ${description}  ${s.sliceCount} slice(s), ${s.dims.join('x')}${problem}`;
    })
    .join('\n');
}

/**
 * The slices of the requested series (several UIDs, comma-separated, when they are one stack stored a
 * series per slice position), of the only one, or of all when they are such a stack; explains the
 * choice otherwise.
 */
export function selectSeries(scanned: ScannedInput, requested: string | undefined): SliceRecord[] {
  const groups = groupBySeries(scanned.slices);
  const summaries = () => formatSeriesList([...groups.values()].map(summarizeSeries)).replace(/^/gm, '  ');
  if (requested !== undefined) {
    const uids = requested
      .split(',')
      .map((uid) => uid.trim())
      .filter((uid) => uid !== '');
    if (uids.length === 0)
      throw new MedparseError(
        'INVALID_ARGUMENT',
        `--series names no SeriesInstanceUID; the series found are:\n${summaries()}\nchoose one with --series UID`,
        scanned.input.path,
      );
    const missing = uids.find((uid) => !groups.has(uid));
    if (missing !== undefined)
      throw new MedparseError(
        'INVALID_ARGUMENT',
        `no series with SeriesInstanceUID ${missing}; the series found are:\n${summaries()}\nchoose one with --series UID`,
        scanned.input.path,
      );
    const chosen = uids.map((uid) => groups.get(uid) as SliceRecord[]);
    if (chosen.length === 1) return chosen[0];
    const stack = seriesAsOneStack(chosen);
    if (stack) return stack;
    throw new MedparseError(
      'INVALID_ARGUMENT',
      `the ${chosen.length} series given to --series are not one stack (series read together must share the study, image orientation and grid, hold the same number of images, and lie at one slice position each, no two at the same); the series found are:\n${summaries()}`,
      scanned.input.path,
    );
  }
  if (groups.size === 1) return [...groups.values()][0];
  const all = seriesAsOneStack([...groups.values()]);
  if (all) return all;
  const stack = largestSeriesStack([...groups.values()]);
  const hint = stack
    ? `\n${stack.length} of them lie at one slice position each of one stack (a cine stored a series per slice); read them together with --series ${stack.map((group) => group[0].series.seriesInstanceUid).join(',')}`
    : '';
  throw new MedparseError(
    'MULTIPLE_SERIES',
    `holds ${groups.size} DICOM series:\n${summaries()}\nchoose one with --series UID${hint}`,
    scanned.input.path,
  );
}
