/**
 * The cases of a run over several images (`medparse segment a.nii.gz b/ c.zip -o results`): each
 * input's folder name under the output folder, and the checks made on the inputs before any inference.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isInside } from '../tasks/result-folder.js';
import { UsageError } from './usage.js';

export interface BatchCase {
  /** The folder name under the output folder: safe, and unique among the run's cases. */
  name: string;
  /** The image as the user gave it. */
  input: string;
  /** Where the case's results go: `<output>/<name>`. */
  dir: string;
}

/** Extensions dropped from a case name: the image formats medparse reads (src/io/formats.ts). */
const IMAGE_EXTENSION = /\.(nii\.gz|nii|hdr\.gz|hdr|img\.gz|img|mgh\.gz|mgh|mgz|nrrd|nhdr|mha|mhd|dcm|zip)$/i;
/** Names of the files the run writes beside the case folders. */
export const SUMMARY_NAMES = ['summary.csv', 'summary.json'] as const;
const MAX_NAME_LENGTH = 100;

/**
 * One case per input, in the order given, named after the input's file or folder name with its image
 * extension dropped and every run of characters other than letters, digits, '.', '_' and '-' made one
 * '_' (no leading '.' or '-': no hidden folders, nothing read as an option). A name already taken,
 * ignoring case (case-insensitive file systems would merge the folders), gets -2, -3, ...
 */
export function batchCases(inputs: readonly string[], output: string): BatchCase[] {
  const taken = new Set<string>(SUMMARY_NAMES);
  return inputs.map((input) => {
    const stem = caseStem(input);
    let name = stem;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${stem}-${n}`;
    taken.add(name.toLowerCase());
    return { name, input, dir: join(output, name) };
  });
}

/** The safe folder name an input's cases start from (before -2, -3 make it unique). */
export function caseStem(input: string): string {
  const safe = basename(resolve(input))
    .replace(IMAGE_EXTENSION, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[.-]+/, '')
    .replace(/\.+$/, '')
    .slice(0, MAX_NAME_LENGTH);
  return safe.length > 0 ? safe : 'case';
}

/**
 * Refuses, as wrong usage and before any work, an image given twice (by any path to the same file or
 * folder) and an output folder that is an input or lies inside an input folder (the results would be
 * read as images the next time that folder is given).
 */
export function checkBatchInputs(inputs: readonly string[], output: string): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const real = realPathOf(input);
    const earlier = seen.get(real);
    if (earlier !== undefined)
      throw new UsageError(
        earlier === input
          ? `the image "${input}" is given twice; give each image once`
          : `"${earlier}" and "${input}" are the same image; give each image once`,
      );
    seen.set(real, input);
  }
  const target = realPathOf(output);
  for (const [real, input] of seen) {
    if (target === real)
      throw new UsageError(`the output folder "${output}" is the input "${input}"; choose another folder with -o`);
    if (isInside(target, real))
      throw new UsageError(
        `the output folder "${output}" is inside the input folder "${input}" (results would be read as images the next time it is given); choose a folder outside it with -o`,
      );
  }
}

/** The real path of `path`, or of its nearest existing parent with the rest appended (an output folder not made yet). */
function realPathOf(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(realPathOf(parent), basename(absolute));
}
