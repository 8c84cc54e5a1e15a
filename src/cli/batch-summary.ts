/**
 * The cohort table of a run over several images: `<output>/summary.csv` and the same rows in
 * `summary.json`, one row per case and prompt (one per failed case, with its error). Like a results
 * folder's files, the two are replaced only with --force and only when a manifest beside them
 * (`.medparse-summary-manifest.json`, name -> sha256) says medparse wrote them and they are unchanged since.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCsv } from '../core/csv.js';
import { isMedparseError, MedparseError } from '../core/errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { TaskName } from '../tasks/output-folder.js';
import { answerMaskFiles } from '../tasks/result-files.js';
import { sha256OfFile } from '../tasks/result-folder.js';
import type { ParseResult, PromptResult, PromptStatus } from '../tasks/results.js';
import type { BatchCase } from './batch-cases.js';
import { SUMMARY_NAMES } from './batch-cases.js';

export interface SummaryRow {
  case: string;
  input: string;
  modality: string | null;
  prompt: string | null;
  /** The prompt's answer, or "failed" for a case that has no answers. */
  status: PromptStatus | 'failed';
  score: number | null;
  concept_id: string | null;
  concept_name: string | null;
  snomed: string | null;
  volume_ml: number | null;
  voxels: number | null;
  mean_intensity: number | null;
  std_intensity: number | null;
  instances: number | null;
  /** The answer's mask, relative to the output folder. */
  mask_file: string | null;
  error: string | null;
}

/** The columns in order, with the decimals each number is written with. */
const COLUMNS: ReadonlyArray<{ key: keyof SummaryRow; decimals?: number }> = [
  { key: 'case' },
  { key: 'input' },
  { key: 'modality' },
  { key: 'prompt' },
  { key: 'status' },
  { key: 'score', decimals: 3 },
  { key: 'concept_id' },
  { key: 'concept_name' },
  { key: 'snomed' },
  { key: 'volume_ml', decimals: 3 },
  { key: 'voxels', decimals: 0 },
  { key: 'mean_intensity', decimals: 2 },
  { key: 'std_intensity', decimals: 2 },
  { key: 'instances', decimals: 0 },
  { key: 'mask_file' },
  { key: 'error' },
];
const DECIMALS = new Map(COLUMNS.map(({ key, decimals }) => [key, decimals]));
const SUMMARY_SCHEMA = 'medparse-summary/1';
const MANIFEST_NAME = '.medparse-summary-manifest.json';
const MANIFEST_SCHEMA = 'medparse-summary-manifest/1';

/** One row per prompt of a case's result, numbers rounded as the CSV writes them. */
export function answerRows(batchCase: BatchCase, result: ParseResult): SummaryRow[] {
  const masks = new Map(answerMaskFiles(result).map(({ prompt, name }) => [prompt, `${batchCase.name}/${name}`]));
  return result.prompts.map((prompt) => ({
    ...emptyRow(batchCase, prompt.status),
    modality: result.modality,
    prompt: prompt.text,
    score: rounded('score', prompt.score),
    concept_id: prompt.concept?.id ?? null,
    concept_name: prompt.concept?.name ?? null,
    snomed: prompt.concept?.snomed ?? null,
    ...measures(prompt),
    mask_file: masks.get(prompt) ?? null,
  }));
}

/** The row of a case that failed: what went wrong, in the words the CLI prints. */
export function failedRow(batchCase: BatchCase, error: unknown): SummaryRow {
  return { ...emptyRow(batchCase, 'failed'), error: caseErrorMessage(error) };
}

/** A MedparseError's one line (it names the file); anything else is a bug, said so. */
export function caseErrorMessage(error: unknown): string {
  if (isMedparseError(error)) return error.message;
  return `internal error: ${error instanceof Error ? error.message : String(error)}`;
}

function emptyRow(batchCase: BatchCase, status: SummaryRow['status']): SummaryRow {
  return {
    case: batchCase.name,
    input: batchCase.input,
    modality: null,
    prompt: null,
    status,
    score: null,
    concept_id: null,
    concept_name: null,
    snomed: null,
    volume_ml: null,
    voxels: null,
    mean_intensity: null,
    std_intensity: null,
    instances: null,
    mask_file: null,
    error: null,
  };
}

function measures(
  prompt: PromptResult,
): Pick<SummaryRow, 'volume_ml' | 'voxels' | 'mean_intensity' | 'std_intensity' | 'instances'> {
  const statistics = prompt.statistics;
  return {
    volume_ml: rounded('volume_ml', statistics?.volumeMl),
    voxels: statistics?.voxels ?? null,
    mean_intensity: rounded('mean_intensity', statistics?.intensity?.mean),
    std_intensity: rounded('std_intensity', statistics?.intensity?.std),
    instances: prompt.instances?.length ?? null,
  };
}

/** The value with its column's decimals; null when there is none (or it is not a finite number). */
function rounded(key: keyof SummaryRow, value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return Number(value.toFixed(DECIMALS.get(key) ?? 0));
}

/**
 * RFC 4180: a header line, then one line per row; a field holding a comma, quote or line break is quoted.
 * A text cell that a spreadsheet would run as a formula gets a leading apostrophe (formulaSafe).
 */
export function summaryCsv(rows: readonly SummaryRow[]): string {
  const header = COLUMNS.map(({ key }) => key);
  return formatCsv([header, ...rows.map((row) => COLUMNS.map(({ key, decimals }) => cellText(row[key], decimals)))]);
}

/** Numbers with their column's decimals (0.500, not 0.5; -850.12 stays a number), nothing for null, text formula-safe. */
function cellText(value: string | number | null, decimals: number | undefined): string {
  if (value === null) return '';
  return typeof value === 'number' ? value.toFixed(decimals ?? 0) : formulaSafe(value);
}

/** What a spreadsheet program reads as the start of a formula (CSV or formula injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Text from users and file names (`=HYPERLINK(...).nii.gz`, a prompt "@sum") with `'` put first when it
 * starts like a formula, so a spreadsheet shows it as text. Only summary.csv, the file people open in
 * one, is escaped; summary.json keeps the raw text.
 */
function formulaSafe(text: string): string {
  // here, not in csvField: csv.ts stays a lossless codec (parseCsv reads the vocabulary's sources back as written)
  return FORMULA_START.test(text) ? `'${text}` : text;
}

export function summaryJson(task: TaskName, rows: readonly SummaryRow[]): string {
  return JSON.stringify({ schema: SUMMARY_SCHEMA, task, rows }, null, 2) + '\n';
}

/**
 * Refuses, before any inference and again before writing, a summary.csv or summary.json in the output
 * folder that this run may not replace: any without --force, and with it any that the manifest does not
 * list with its current hash (a user's file, or one changed since).
 */
export function checkSummaryReplaceable(output: string, force: boolean): void {
  const manifest = readManifest(output);
  for (const name of SUMMARY_NAMES) {
    const path = join(output, name);
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    if (!force)
      throw new MedparseError(
        'OUTPUT_EXISTS',
        `folder already holds ${name} of an earlier run; choose another folder or pass --force to replace it`,
        output,
      );
    if (!info.isFile() || !manifest.get(name)?.has(sha256OfFile(path)))
      throw new MedparseError(
        'OUTPUT_EXISTS',
        `${name} is in the output folder but is not a summary medparse wrote (or it was changed since); medparse never replaces it, even with --force: move it away or choose another folder`,
        output,
      );
  }
}

/**
 * Writes summary.csv and summary.json, each atomically. The manifest first lists both the earlier and
 * the new hashes, so a run killed between the files still leaves every file one the next --force run
 * may replace.
 */
export async function writeSummary(
  output: string,
  task: TaskName,
  rows: readonly SummaryRow[],
  force: boolean,
): Promise<string[]> {
  checkSummaryReplaceable(output, force);
  const contents: Record<(typeof SUMMARY_NAMES)[number], string> = {
    'summary.csv': summaryCsv(rows),
    'summary.json': summaryJson(task, rows),
  };
  const earlier = readManifest(output);
  const fresh = new Map(SUMMARY_NAMES.map((name) => [name, sha256OfText(contents[name])]));
  const journal = new Map(
    SUMMARY_NAMES.map((name) => [name, new Set([...(earlier.get(name) ?? []), fresh.get(name) as string])]),
  );
  await writeManifest(output, journal);
  for (const name of SUMMARY_NAMES) await writeFileAtomic(join(output, name), contents[name]);
  await writeManifest(output, new Map([...fresh].map(([name, hash]) => [name, new Set([hash])])));
  return [...SUMMARY_NAMES];
}

/** name -> accepted sha256 values; empty when there is no manifest or it is not one medparse wrote. */
function readManifest(output: string): Map<string, Set<string>> {
  const files = new Map<string, Set<string>>();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(output, MANIFEST_NAME), 'utf8'));
  } catch {
    return files; // absent or not JSON: it vouches for nothing
  }
  if (typeof raw !== 'object' || raw === null) return files;
  const { schema, files: listed } = raw as { schema?: unknown; files?: unknown };
  if (schema !== MANIFEST_SCHEMA || typeof listed !== 'object' || listed === null) return files;
  for (const name of SUMMARY_NAMES) {
    const hashes: unknown = (listed as Record<string, unknown>)[name];
    if (!Array.isArray(hashes)) continue;
    files.set(name, new Set(hashes.filter((h): h is string => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))));
  }
  return files;
}

async function writeManifest(output: string, files: Map<string, Set<string>>): Promise<void> {
  const body = {
    schema: MANIFEST_SCHEMA,
    files: Object.fromEntries([...files].map(([name, hashes]) => [name, [...hashes]])),
  };
  await writeFileAtomic(join(output, MANIFEST_NAME), JSON.stringify(body, null, 2) + '\n');
}

function sha256OfText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
