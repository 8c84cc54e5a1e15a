/**
 * Images without a SeriesInstanceUID (anonymisers strip it; TotalSegmentator's example series has none)
 * are grouped by what the images of one series share, as dcm2niix does: study, frame of reference,
 * modality, series number, grid and image orientation. Each group gets a UID derived from what it
 * shares, so that it can be listed, chosen with --series and told apart from the others.
 */
import type { SliceRecord } from './slice.js';

/** Largest difference between direction cosines of one series' images (about 0.06 degrees). */
const ORIENTATION_TOLERANCE = 1e-3;

interface Group {
  key: string;
  orientation: number[] | undefined;
  slices: SliceRecord[];
}

/**
 * Gives every image without a SeriesInstanceUID the derived UID of its group (in place), and returns a
 * note saying so, or undefined when every image has one.
 */
export async function assignMissingSeriesUids(slices: SliceRecord[]): Promise<string | undefined> {
  const missing = slices.filter((slice) => slice.series.seriesInstanceUid === '');
  if (missing.length === 0) return undefined;
  const groups: Group[] = [];
  for (const slice of missing) {
    const key = sharedKey(slice);
    const group = groups.find((g) => g.key === key && sameOrientation(g.orientation, slice.orientation));
    if (group) group.slices.push(slice);
    else groups.push({ key, orientation: slice.orientation, slices: [slice] });
  }
  const taken = new Set<string>();
  for (const group of groups) {
    let uid = await derivedUid(group, '');
    for (let n = 1; taken.has(uid); n++) uid = await derivedUid(group, `#${n}`);
    taken.add(uid);
    for (const slice of group.slices) slice.series = { ...slice.series, seriesInstanceUid: uid, derivedUid: true };
  }
  const files = new Set(missing.map((slice) => slice.source)).size;
  return (
    `${files} DICOM file(s) have no SeriesInstanceUID (0020,000E); they were grouped into ${groups.length} series by ` +
    'study, frame of reference, modality, series number, grid and orientation (as dcm2niix does), each under a UID medparse derived from those'
  );
}

function sharedKey(slice: SliceRecord): string {
  const { series, layout } = slice;
  return JSON.stringify([
    series.studyInstanceUid,
    series.frameOfReferenceUid ?? '',
    series.modality ?? '',
    series.seriesNumber ?? '',
    layout.rows,
    layout.columns,
  ]);
}

function sameOrientation(a: number[] | undefined, b: number[] | undefined): boolean {
  if (!a || !b) return a === b;
  return a.every((value, i) => Math.abs(value - b[i]) <= ORIENTATION_TOLERANCE);
}

/**
 * A "2.25." UID (PS3.5 B.2) from a hash of what the group shares, so the same files get the same UID.
 * SHA-256 by Web Crypto, which Node and browsers both have, so both derive the same UID.
 */
async function derivedUid(group: Group, salt: string): Promise<string> {
  const orientation = group.orientation?.map((value) => value.toFixed(3)).join('\\') ?? '';
  const text = new TextEncoder().encode(`${group.key}|${orientation}${salt}`);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', text));
  const hex = [...digest.subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}
