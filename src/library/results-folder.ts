import { packageVersion } from '../core/paths.js';
import { writeResults as writeFolder, type TaskName } from '../tasks/output-folder.js';
import type { ParseResult } from '../tasks/results.js';
import { loadVocabulary } from '../vocab/index.js';

export interface WriteResultsOptions {
  /** Which task produced the result, as report.json states it (default 'segment'). */
  task?: TaskName;
  /** Also write segmentation.dcm when the input is not DICOM (always written for DICOM input). */
  dicomSeg?: boolean;
  /** Write preview.png (default true). */
  preview?: boolean;
  /** Replace the files of an earlier run in the folder (only files medparse wrote, unchanged since). */
  force?: boolean;
}

/**
 * Writes a results folder as the CLI does: labels.nii.gz + labels.json, one mask per present prompt,
 * preview.png, report.json (and segmentation.dcm for DICOM input). Returns the files written. Nothing
 * medparse did not write is replaced, the input included.
 */
export async function writeResults(
  dir: string,
  result: ParseResult,
  options: WriteResultsOptions = {},
): Promise<string[]> {
  return writeFolder(dir, result, loadVocabulary(), {
    task: options.task ?? 'segment',
    dicomSeg: options.dicomSeg,
    preview: options.preview,
    force: options.force,
    medparseVersion: packageVersion(),
  });
}
