import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { volumeLike } from '../core/volume.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { writeNifti } from '../io/write-nifti.js';
import { boxUnion } from '../ops/index.js';
import { renderPreview } from '../outputs/preview.js';
import type { Vocabulary } from '../vocab/index.js';
import { mergeLabels } from './label-map.js';
import { answerBox } from './mask-analysis.js';
import type { ParseResult, PromptResult } from './results.js';
import { readReport, writeReport, type ReportFiles } from './report.js';
import { answerMaskFiles, buildReport, encodeSegmentation, type ReportOptions } from './result-files.js';

export { mergeLabels } from './label-map.js';
import { OutputFolder, RESULT_FILE_NAMES } from './result-folder.js';

export { MANIFEST_NAME, OutputFolder, type OpenOutputFolderOptions } from './result-folder.js';

export type { TaskName } from './result-files.js';

export interface WriteResultsOptions extends ReportOptions {
  /** Also write segmentation.dcm when the input is not DICOM. */
  dicomSeg?: boolean;
  preview?: boolean;
  /** Replace the files of an earlier run (only those its manifest lists, unchanged since). */
  force?: boolean;
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
    const merged = mergeLabels(result, vocabulary);
    const { labels, table, shares } = merged;
    const files: ReportFiles = { labels: 'labels.nii.gz', label_table: 'labels.json' };
    await writeNifti(join(staging, 'labels.nii.gz'), labels, {
      labelTable: table,
      compressionLevel: 4,
      nonzeroBox: boxUnion(result.prompts.map((prompt) => answerBox(prompt, labels.dims))),
    });
    const maskFiles = await writeMasks(staging, result);
    if (options.preview !== false) {
      await writeFileAtomic(join(staging, 'preview.png'), renderPreview(result.input, labels, table));
      files.preview = 'preview.png';
    }
    // A SEG needs at least one segment; with nothing present the report says so instead.
    const segmentation =
      options.dicomSeg || result.input.meta.sourceFormat === 'dicom' ? encodeSegmentation(result, merged) : undefined;
    if (segmentation) {
      await writeFileAtomic(join(staging, 'segmentation.dcm'), segmentation.bytes);
      files.dicom_seg = 'segmentation.dcm';
    }
    const report = buildReport(result, options, files, maskFiles, shares, segmentation?.report);
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
  for (const { prompt, name } of answerMaskFiles(result)) {
    // the mask is written from the answer's probabilities, inside its box: no 0/1 copy of the volume
    const probability = volumeLike(result.input, prompt.probability as Uint8Array);
    const nonzeroBox = answerBox(prompt, probability.dims);
    await writeNifti(join(staging, name), probability, { compressionLevel: 4, nonzeroBox, asMask: true });
    files.set(prompt, name);
  }
  return files;
}
