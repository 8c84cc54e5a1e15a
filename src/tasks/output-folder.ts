import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toNested } from '../core/affine.js';
import { orientationOf, spacingOf, volumeLike } from '../core/volume.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { LabelEntry } from '../io/label-table.js';
import { writeNifti } from '../io/write-nifti.js';
import { encodeDicomSegMasks, NO_PATIENT_DESCRIPTION, type SegmentMask } from '../outputs/dicom-seg.js';
import { renderPreview } from '../outputs/preview.js';
import type { Vocabulary } from '../vocab/index.js';
import { mergeLabels, type LabelMapShare } from './label-map.js';
import type { ParseResult, PromptResult } from './results.js';
import {
  readReport,
  REPORT_SCHEMA_VERSION,
  writeReport,
  type DicomSegReport,
  type PromptReport,
  type Report,
  type ReportFiles,
} from './report.js';

export { mergeLabels } from './label-map.js';
import { OutputFolder, RESULT_FILE_NAMES } from './result-folder.js';

export { MANIFEST_NAME, OutputFolder, type OpenOutputFolderOptions } from './result-folder.js';

export type TaskName = 'segment' | 'detect' | 'recognize';

export interface WriteResultsOptions {
  task: TaskName;
  /** Also write segmentation.dcm when the input is not DICOM. */
  dicomSeg?: boolean;
  preview?: boolean;
  /** Replace the files of an earlier run (only those its manifest lists, unchanged since). */
  force?: boolean;
  medparseVersion: string;
  /** The folder, opened (checked and locked) before inference; opened here when absent. */
  folder?: OutputFolder;
  /** Paths the run read, never replaced (default: the input volume's sourcePath). */
  inputs?: readonly string[];
}

/**
 * Checks, before any work is done, that a run could write into `dir` (a writable folder, not the
 * input, no earlier results without `force`, no user file named like a fixed output). Prefer
 * OutputFolder.open, which also locks the folder for the run.
 */
export function checkOutputFolder(dir: string, force: boolean, inputs: readonly string[] = []): void {
  OutputFolder.open(dir, { force, inputs }).release();
}

/**
 * Writes a results folder: labels.nii.gz + labels.json, one mask per present prompt, preview.png,
 * segmentation.dcm when asked or when the input is DICOM, report.json, and the manifest of what was
 * written. Everything is staged beside the folder and swapped in at the end (see OutputFolder), so a
 * failed or killed run never leaves a folder that looks complete, and no file medparse did not write
 * (the input among them) is replaced. Pass `folder` from OutputFolder.open to have the folder checked
 * and locked before inference; without it the folder is opened here.
 */
export async function writeResults(
  dir: string,
  result: ParseResult,
  vocabulary: Vocabulary,
  options: WriteResultsOptions,
): Promise<string[]> {
  const inputs = options.inputs ?? (result.input.meta.sourcePath ? [result.input.meta.sourcePath] : []);
  const folder = options.folder ?? OutputFolder.open(dir, { force: options.force, inputs });
  try {
    const staging = folder.staging();
    const { labels, table, values, shares } = mergeLabels(result, vocabulary);
    const files: ReportFiles = { labels: 'labels.nii.gz', label_table: 'labels.json' };
    await writeNifti(join(staging, 'labels.nii.gz'), labels, { labelTable: table, compressionLevel: 4 });
    const maskFiles = await writeMasks(staging, result);
    if (options.preview !== false) {
      await writeFileAtomic(join(staging, 'preview.png'), renderPreview(result.input, labels, table));
      files.preview = 'preview.png';
    }
    // A SEG needs at least one segment; with nothing present the report says so instead.
    let dicomSeg: DicomSegReport | undefined;
    if ((options.dicomSeg || result.input.meta.sourceFormat === 'dicom') && table.labels.length > 0) {
      const masks = segmentMasks(result, table.labels, values);
      const attached = result.input.meta.dicom !== undefined;
      await writeFileAtomic(
        join(staging, 'segmentation.dcm'),
        encodeDicomSegMasks(result.input, masks, {
          algorithmVersion: `${result.model.name} ${result.model.version}`,
          ...(attached ? {} : { seriesDescription: NO_PATIENT_DESCRIPTION }),
        }),
      );
      files.dicom_seg = 'segmentation.dcm';
      dicomSeg = describeDicomSeg(result, masks, shares);
    }
    const report = buildReport(result, options, files, maskFiles, shares, dicomSeg);
    await writeReport(staging, report);
    return folder.commit();
  } finally {
    folder.release();
  }
}

/**
 * The files a results folder's report.json says it wrote, report.json left out: all that the service
 * lets a client fetch. Empty without a readable report. (What a run may replace is decided by the
 * manifest and its hashes, never by report.json: see OutputFolder.)
 */
export function filesListedInReport(dir: string): string[] {
  if (!existsSync(join(dir, 'report.json'))) return [];
  try {
    const report = readReport(dir);
    const listed = [...Object.values(report.files), ...report.prompts.map((p) => p.mask_file)];
    return listed.filter((n): n is string => typeof n === 'string' && RESULT_FILE_NAMES.test(n) && n !== 'report.json');
  } catch {
    return []; // not a report we wrote: leave the folder as it is
  }
}

async function writeMasks(staging: string, result: ParseResult): Promise<Map<PromptResult, string>> {
  const files = new Map<PromptResult, string>();
  const written = new Set<string>();
  for (const prompt of result.prompts) {
    if (prompt.status !== 'present' || !prompt.probability || !prompt.concept) continue;
    let name = `${prompt.concept.id}.nii.gz`;
    for (let n = 2; written.has(name); n++) name = `${prompt.concept.id}_${n}.nii.gz`;
    written.add(name);
    const mask = new Uint8Array(prompt.probability.length);
    for (let i = 0; i < mask.length; i++) mask[i] = prompt.probability[i] ? 1 : 0;
    await writeNifti(join(staging, name), volumeLike(result.input, mask), { compressionLevel: 4 });
    files.set(prompt, name);
  }
  return files;
}

function buildReport(
  result: ParseResult,
  options: WriteResultsOptions,
  files: ReportFiles,
  maskFiles: Map<PromptResult, string>,
  shares: Map<PromptResult, LabelMapShare>,
  dicomSeg: DicomSegReport | undefined,
): Report {
  const input = result.input;
  const intensityUnit = result.modality === 'CT' ? 'HU' : 'image units';
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    medparse_version: options.medparseVersion,
    created: new Date().toISOString(),
    task: options.task,
    input: {
      path: input.meta.sourcePath ?? null,
      format: input.meta.sourceFormat,
      dims: input.dims,
      spacing_mm: spacingOf(input),
      affine_ras: toNested(input.affine),
      orientation: orientationOf(input),
      modality: result.modality,
      modality_source: result.modalitySource,
      ...(input.meta.notes?.length ? { notes: input.meta.notes } : {}),
      ...(input.meta.dicom
        ? {
            dicom: {
              study_instance_uid: input.meta.dicom.studyInstanceUid,
              series_instance_uid: input.meta.dicom.seriesInstanceUid,
              ...(input.meta.dicom.sliceSeriesUids
                ? { slice_series_instance_uids: input.meta.dicom.sliceSeriesUids }
                : {}),
            },
          }
        : {}),
    },
    model: result.model,
    ...(result.orientationSearch.length
      ? {
          orientation_search: result.orientationSearch.map((s) => ({
            network: s.network,
            kept: s.kept,
            tried: s.tried.map((t) => ({ orientation: t.orientation, confidence: Number(t.confidence.toFixed(4)) })),
          })),
        }
      : {}),
    files,
    ...(dicomSeg ? { dicom_seg: dicomSeg } : {}),
    prompts: result.prompts.map((p) => promptReport(p, maskFiles.get(p), shares.get(p), intensityUnit)),
    timings_ms: Object.fromEntries(Object.entries(result.timings).map(([k, v]) => [k, Math.round(v)])),
  };
}

function promptReport(
  p: PromptResult,
  maskFile: string | undefined,
  share: LabelMapShare | undefined,
  unit: 'HU' | 'image units',
): PromptReport {
  const s = p.statistics;
  return {
    text: p.text,
    status: p.status,
    score: p.score === null ? null : round(p.score, 4),
    concept: p.concept ?? null,
    mask_file: maskFile ?? null,
    label_value: share?.value ?? null,
    label_map: share
      ? {
          value: share.value,
          label_voxels: share.labelVoxels,
          label_volume_ml: round(share.labelVolumeMl, 3),
          mask_in_other_labels: share.inOtherLabels.map((o) => ({
            value: o.value,
            name: o.name,
            voxels: o.voxels,
            volume_ml: round(o.volumeMl, 3),
          })),
          note: share.note,
        }
      : null,
    statistics: s
      ? {
          voxels: s.voxels,
          volume_ml: round(s.volumeMl, 3),
          intensity: s.intensity
            ? {
                mean: round(s.intensity.mean, 2),
                std: round(s.intensity.std, 2),
                min: s.intensity.min,
                max: s.intensity.max,
                unit,
              }
            : null,
          bbox_voxels: s.boxVoxels,
          bbox_world_mm: { min: s.boxWorld.min.map((v) => round(v, 2)), max: s.boxWorld.max.map((v) => round(v, 2)) },
          centroid_world_mm: s.centroidWorld.map((v) => round(v, 2)),
        }
      : null,
    instances: (p.instances ?? []).map((i) => ({
      id: i.id,
      voxels: i.voxels,
      volume_ml: round(i.volumeMl, 3),
      mean_probability: round(i.meanProbability, 3),
      bbox_voxels: i.boxVoxels,
      bbox_world_mm: { min: i.boxWorld.min.map((v) => round(v, 2)), max: i.boxWorld.max.map((v) => round(v, 2)) },
      centroid_world_mm: i.centroidWorld.map((v) => round(v, 2)),
    })),
    evidence: p.evidence
      ? {
          voxels: p.evidence.voxels,
          volume_ml: round(p.evidence.volumeMl, 3),
          presence_logit: p.evidence.presenceLogit === null ? null : round(p.evidence.presenceLogit, 3),
          mean_probability: round(p.evidence.meanProbability, 3),
          mean_normalized_intensity: round(p.evidence.meanIntensity, 3),
          p_value: p.evidence.pValue === null ? null : round(p.evidence.pValue, 4),
          calibrated: p.evidence.calibrated,
          bbox_voxels: p.evidence.boxVoxels,
          best_slice: p.evidence.bestSlice,
          reasons: p.evidence.reasons,
        }
      : null,
    suggestions: p.suggestions,
    notes: p.notes,
  };
}

/** One segment per label value: the first present answer's own mask (so parts and wholes overlap, as they do). */
function segmentMasks(
  result: ParseResult,
  entries: readonly LabelEntry[],
  values: Map<PromptResult, number>,
): SegmentMask[] {
  return entries.flatMap((entry) => {
    const prompt = result.prompts.find((p) => values.get(p) === entry.value && p.probability);
    if (!prompt?.probability) return [];
    const box = prompt.statistics?.boxVoxels;
    return [{ entry, data: prompt.probability, ...(box ? { box } : {}) }];
  });
}

function describeDicomSeg(
  result: ParseResult,
  masks: readonly SegmentMask[],
  shares: Map<PromptResult, LabelMapShare>,
): DicomSegReport {
  const dicom = result.input.meta.dicom;
  const overlapping = [...shares.values()].some((share) => share.inOtherLabels.length > 0);
  return {
    segments: masks.map((mask, n) => ({
      number: n + 1,
      label_value: mask.entry.value,
      name: mask.entry.name,
      laterality: mask.entry.laterality ?? null,
    })),
    segments_overlap: overlapping,
    study_instance_uid: dicom?.studyInstanceUid ?? null,
    note: dicom
      ? `joins the source study ${dicom.studyInstanceUid} and references its series; each segment is an answer's whole mask` +
        (overlapping ? ' (segments overlap where one answer lies within another)' : '')
      : `the input was a ${result.input.meta.sourceFormat} file, not DICOM: the SEG has no patient or study to attach to ` +
        '(empty patient name and id, a new study UID); import it alongside the images only by matching the geometry',
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
