/**
 * segment, detect or recognize on several images: the engine is loaded once, each image's results go
 * into `<output>/<case>/` (the same files, written the same way, as a run on one image), and
 * `<output>/summary.csv` (and summary.json) holds one row per case and prompt. A case that fails is a
 * row saying why; the others still run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMedparseError } from '../../core/errors.js';
import type { ParseEngine } from '../../tasks/engine.js';
import type { OutputFolder } from '../../tasks/output-folder.js';
import { batchCases, type BatchCase } from '../batch-cases.js';
import {
  answerRows,
  caseErrorMessage,
  checkSummaryReplaceable,
  failedRow,
  writeSummary,
  type SummaryRow,
} from '../batch-summary.js';
import { EXIT } from '../io.js';
import { loadEngine, parseImage, releaseOnSignals, summarize, writeImageResults, type ParseRun } from './parse-run.js';

/** What became of one case: its summary rows, what --json prints for it, and how it failed if it did. */
interface CaseOutcome {
  rows: SummaryRow[];
  json: Record<string, unknown>;
  failure?: 'input' | 'internal';
}

export async function runBatch(run: ParseRun, images: readonly string[]): Promise<number> {
  const cases = batchCases(images, run.output);
  const folders: OutputFolder[] = [];
  const removeSignalHandlers = releaseOnSignals(() => folders);
  let engine: ParseEngine | undefined;
  try {
    // every folder the run writes is checked (and each case's locked) before any inference
    checkSummaryReplaceable(run.output, run.values.force);
    for (const batchCase of cases)
      folders.push(run.modules.OutputFolder.open(batchCase.dir, { force: run.values.force, inputs: images }));
    engine = loadEngine(run);
    const outcomes: CaseOutcome[] = [];
    for (const [index, batchCase] of cases.entries())
      outcomes.push(await runCase(run, engine, batchCase, folders[index], `${index + 1} of ${cases.length}`));
    run.display?.stop();
    await writeSummary(
      run.output,
      run.task,
      outcomes.flatMap((outcome) => outcome.rows),
      run.values.force,
    );
    run.io.stdout(
      run.values.json
        ? JSON.stringify(
            outcomes.map((outcome) => outcome.json),
            null,
            2,
          )
        : closingLine(run, outcomes),
    );
    return exitCode(outcomes);
  } finally {
    run.display?.stop();
    for (const folder of folders) folder.release();
    removeSignalHandlers();
    await engine?.dispose();
  }
}

/** Parses one case into its folder; a failure is recorded (summary, stderr), never thrown. */
async function runCase(
  run: ParseRun,
  engine: ParseEngine,
  batchCase: BatchCase,
  folder: OutputFolder,
  position: string,
): Promise<CaseOutcome> {
  const { name, input, dir } = batchCase;
  run.display?.report({ stage: 'case', fraction: 0, message: `${position}: ${name} (${input})` });
  try {
    const result = await parseImage(run, engine, input);
    const written = await writeImageResults(run, engine, dir, result, folder);
    run.display?.stop();
    if (!run.values.json) run.io.stdout(`case ${position}: ${name}\n${summarize(result, run.task, dir, written)}`);
    const report: unknown = run.values.json ? JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) : undefined;
    return { rows: answerRows(batchCase, result), json: { case: name, input, output: dir, report } };
  } catch (error) {
    folder.release();
    run.display?.stop();
    const message = caseErrorMessage(error);
    run.io.stderr(`medparse: case ${position} (${name}) failed: ${message}`);
    if (!isMedparseError(error) && process.env.MEDPARSE_DEBUG && error instanceof Error && error.stack)
      run.io.stderr(error.stack);
    return {
      rows: [failedRow(batchCase, error)],
      json: { case: name, input, output: null, error: message },
      failure: isMedparseError(error) ? 'input' : 'internal',
    };
  }
}

function closingLine(run: ParseRun, outcomes: readonly CaseOutcome[]): string {
  const failed = outcomes.filter((outcome) => outcome.failure).length;
  const parsed = `${outcomes.length - failed} of ${outcomes.length} images parsed`;
  const failures = failed ? ` (${failed} failed: see the error column)` : '';
  return `${parsed}${failures}; wrote summary.csv and summary.json to ${run.output}`;
}

/** 0 when every case was parsed; else an internal error's code if any case hit one, else an input error's. */
function exitCode(outcomes: readonly CaseOutcome[]): number {
  if (outcomes.some((outcome) => outcome.failure === 'internal')) return EXIT.internal;
  if (outcomes.some((outcome) => outcome.failure === 'input')) return EXIT.inputError;
  return EXIT.ok;
}
