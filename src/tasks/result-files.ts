/**
 * A parse's results as files, built in memory without a file system: the names of the mask files,
 * report.json and labels.json as documents, and every file encoded (encodeResultFiles). The Node writer
 * (output-folder.ts) writes a folder from these; the in-browser engine offers them as downloads.
 */
import { toNested } from '../core/affine.js';
import { orientationOf, spacingOf, volumeLike, type Volume } from '../core/volume.js';
import { toNiivueColormap, type LabelEntry, type LabelTable } from '../io/label-legend.js';
import { encodeNifti } from '../io/nifti-encode.js';
import { encodeDicomSegMasks, NO_PATIENT_DESCRIPTION, type SegmentMask } from '../outputs/dicom-seg.js';
import { renderPreview } from '../outputs/preview.js';
import type { Vocabulary } from '../vocab/vocabulary.js';
import { mergeLabels, type LabelMapShare } from './label-map.js';
import { answerBox, forEachRowInBox } from './mask-analysis.js';
import {
  REPORT_SCHEMA_VERSION,
  type DicomSegReport,
  type PromptReport,
  type Report,
  type ReportFiles,
} from './report-types.js';
import type { ParseResult, PromptResult } from './results.js';

export type TaskName = 'segment' | 'detect' | 'recognize';

/** What report.json says of the run besides the result. */
export interface ReportOptions {
  task: TaskName;
  medparseVersion: string;
}

/**
 * segmentation.dcm of the present answers (one segment per label, each an answer's whole mask) and what
 * report.json says of it; undefined when nothing is present (a SEG needs a segment).
 */
export function encodeSegmentation(
  result: ParseResult,
  merged: Pick<ReturnType<typeof mergeLabels>, 'table' | 'values' | 'shares'>,
): { bytes: Uint8Array; report: DicomSegReport } | undefined {
  if (merged.table.labels.length === 0) return undefined;
  const masks = segmentMasks(result, merged.table.labels, merged.values);
  const attached = result.input.meta.dicom !== undefined;
  const bytes = encodeDicomSegMasks(result.input, masks, {
    algorithmVersion: `${result.model.name} ${result.model.version}`,
    ...(attached ? {} : { seriesDescription: NO_PATIENT_DESCRIPTION }),
  });
  return { bytes, report: describeDicomSeg(result, masks, merged.shares) };
}

/** Each present answer with a mask and its mask file's name: `<concept id>.nii.gz`, `_2` on a repeat. */
export function answerMaskFiles(result: ParseResult): Array<{ prompt: PromptResult; name: string }> {
  const files: Array<{ prompt: PromptResult; name: string }> = [];
  const written = new Set<string>();
  for (const prompt of result.prompts) {
    if (prompt.status !== 'present' || !prompt.probability || !prompt.concept) continue;
    let name = `${prompt.concept.id}.nii.gz`;
    for (let n = 2; written.has(name); n++) name = `${prompt.concept.id}_${n}.nii.gz`;
    written.add(name);
    files.push({ prompt, name });
  }
  return files;
}

/** Each present answer's own mask (0/1 on the input grid) and its file name (answerMaskFiles). */
export function answerMasks(result: ParseResult): Array<{ prompt: PromptResult; name: string; mask: Volume }> {
  const dims = result.input.dims;
  return answerMaskFiles(result).map(({ prompt, name }) => {
    const probability = prompt.probability as Uint8Array;
    const mask = new Uint8Array(probability.length);
    forEachRowInBox(answerBox(prompt, dims), dims, (from, to) => {
      for (let i = from; i < to; i++) mask[i] = probability[i] ? 1 : 0;
    });
    return { prompt, name, mask: volumeLike(result.input, mask) };
  });
}

/** labels.json: the table with NiiVue's colormap of the same legend, as writeLabelTable writes it. */
export function labelTableDocument(table: LabelTable): LabelTable {
  return { ...table, niivue: toNiivueColormap(table) };
}

/** A JSON document's text as medparse writes its files (documents.ts: two-space indent, a final newline). */
export function documentJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** gzip for .nii.gz files: the platform's (zlib on Node, CompressionStream in browsers). */
export type Gzip = (bytes: Uint8Array) => Promise<Uint8Array>;

/** The files of a results folder (preview.png and segmentation.dcm when asked for), by name, and the report. */
export interface ResultFiles {
  report: Report;
  /** labels.json's content: the table and its NiiVue colormap. */
  table: LabelTable;
  files: Map<string, Uint8Array>;
}

/**
 * Encodes a parse's results as output-folder.ts writes them (labels.nii.gz with its table in a NIfTI
 * extension, labels.json, a mask per present answer, report.json), in memory; preview.png and
 * segmentation.dcm too when asked for. report.json lists only the files here.
 */
export async function encodeResultFiles(
  result: ParseResult,
  vocabulary: Vocabulary,
  options: ReportOptions & { dicomSeg?: boolean; preview?: boolean },
  gzip: Gzip,
): Promise<ResultFiles> {
  const merged = mergeLabels(result, vocabulary);
  const { labels, table, shares } = merged;
  const files = new Map<string, Uint8Array>();
  const text = new TextEncoder();
  files.set('labels.nii.gz', await gzip(encodeNifti(labels, { labelTable: table })));
  files.set('labels.json', text.encode(documentJson(labelTableDocument(table))));
  const maskFiles = new Map<PromptResult, string>();
  for (const { prompt, name, mask } of answerMasks(result)) {
    files.set(name, await gzip(encodeNifti(mask)));
    maskFiles.set(prompt, name);
  }
  const reportFiles: ReportFiles = { labels: 'labels.nii.gz', label_table: 'labels.json' };
  if (options.preview) {
    // the same renderer and PNG encoder as the Node writer's (output-folder.ts), both platform-free
    files.set('preview.png', renderPreview(result.input, labels, table));
    reportFiles.preview = 'preview.png';
  }
  const segmentation = options.dicomSeg ? encodeSegmentation(result, merged) : undefined;
  if (segmentation) {
    files.set('segmentation.dcm', segmentation.bytes);
    reportFiles.dicom_seg = 'segmentation.dcm';
  }
  const report = buildReport(result, options, reportFiles, maskFiles, shares, segmentation?.report);
  files.set('report.json', text.encode(documentJson(report)));
  return { report, table: labelTableDocument(table), files };
}

export function buildReport(
  result: ParseResult,
  options: ReportOptions,
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
export function segmentMasks(
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

export function describeDicomSeg(
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
