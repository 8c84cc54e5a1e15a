/**
 * What segment, detect and recognize do once their usage is checked, shared by a run on one image
 * (parse.ts) and a run on several (parse-batch.ts): load the engine, read and parse an image, write
 * its results folder, and say what was found.
 */
import { makePhantomCt } from '../../core/phantom.js';
import { DEFAULT_MODEL_DIR, packageVersion } from '../../core/paths.js';
import type { ParseEngine } from '../../tasks/engine.js';
import type { OutputFolder, TaskName } from '../../tasks/output-folder.js';
import type { ParseResult, PromptResult } from '../../tasks/results.js';
import type { ImageChoiceOptions } from '../context.js';
import type { CommandIO } from '../io.js';
import type { ProgressDisplay } from '../progress.js';
import { parseVolumeIndex } from '../usage.js';

export interface ParseCommandOptions extends ImageChoiceOptions {
  prompts?: string[];
  output?: string;
  modality?: string;
  model?: string;
  threads?: string;
  device: string;
  memoryLimitGb?: string;
  dicomSeg: boolean;
  preview: boolean;
  keepIslands: boolean;
  experimental: boolean;
  force: boolean;
  demo: boolean;
  json: boolean;
  quiet: boolean;
}

/** A parse whose usage was checked: what to run, where the results go, and the loaded modules. */
export interface ParseRun {
  task: TaskName;
  /** The prompts joined into one list ("" for recognize). */
  prompts: string;
  output: string;
  values: ParseCommandOptions;
  threads: number | undefined;
  memoryLimitGb: number | undefined;
  io: CommandIO;
  modules: ParseModules;
  /** Absent with --quiet. */
  display: ProgressDisplay | undefined;
}

export type ParseModules = Awaited<ReturnType<typeof loadParseModules>>;

/**
 * The engine (onnxruntime-node), the readers and writers (DICOM codecs) and the progress bars, imported
 * when a parse runs rather than when the CLI starts: --version, --help and the other commands need none
 * of them. After the usage checks, so that a usage error answers as fast as --help.
 */
export async function loadParseModules() {
  const [{ ParseEngine }, { OutputFolder, writeResults }, { readVolume }, { progressDisplay }] = await Promise.all([
    import('../../tasks/engine.js'),
    import('../../tasks/output-folder.js'),
    import('../../io/read.js'),
    import('../progress.js'),
  ]);
  return { ParseEngine, OutputFolder, writeResults, readVolume, progressDisplay };
}

/** The model package, loaded once per run (its networks open on first use and stay open for every image). */
export function loadEngine(run: ParseRun): ParseEngine {
  const modelDir = run.values.model ?? DEFAULT_MODEL_DIR;
  run.display?.report({ stage: 'load', fraction: 0, message: `model ${modelDir}` });
  return run.modules.ParseEngine.load(modelDir, {
    threads: run.threads,
    device: 'cpu',
    memoryLimitGb: run.memoryLimitGb,
    keepIslands: run.values.keepIslands,
    experimental: run.values.experimental,
    onProgress: run.display?.report,
  });
}

/** Reads `image` (the built-in synthetic CT when undefined) and answers the run's prompts on it. */
export async function parseImage(run: ParseRun, engine: ParseEngine, image: string | undefined): Promise<ParseResult> {
  const progress = run.display?.report;
  progress?.({ stage: 'read', fraction: 0 });
  const volume =
    image === undefined
      ? makePhantomCt()
      : await run.modules.readVolume(image, {
          volume: parseVolumeIndex(run.values.volume),
          series: run.values.series,
          // --memory-limit-gb is checked from the header, before the voxels are read
          checkHeader: engine.checkHeader,
          onProgress: progress,
        });
  const options = { modality: run.values.modality };
  return run.task === 'recognize' ? engine.recognize(volume, options) : engine.segment(volume, run.prompts, options);
}

/** Writes one image's results folder through `folder` (opened, checked and locked before inference). */
export function writeImageResults(
  run: ParseRun,
  engine: ParseEngine,
  dir: string,
  result: ParseResult,
  folder: OutputFolder,
): Promise<string[]> {
  run.display?.report({ stage: 'write', fraction: 0 });
  return run.modules.writeResults(dir, result, engine.vocabulary, {
    task: run.task,
    dicomSeg: run.values.dicomSeg,
    preview: run.values.preview,
    force: run.values.force,
    medparseVersion: packageVersion(),
    folder,
  });
}

/**
 * Ctrl-C or a kill while results are staged: the staging folders and the locks go, nothing is moved
 * in, and the process ends as a signal would end it (exit 130 or 143).
 */
export function releaseOnSignals(folders: () => readonly OutputFolder[]): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => {
      for (const folder of folders()) folder.release();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => handlers.forEach(([signal, handler]) => process.removeListener(signal, handler));
}

export function summarize(result: ParseResult, task: TaskName, dir: string, written: string[]): string {
  const shown = task === 'recognize' ? result.prompts.filter((p) => p.status === 'present') : result.prompts;
  const lines = shown.map((p) => describePrompt(p, task));
  lines.unshift(`${result.modality} (${result.modalitySource}), model ${result.model.name} ${result.model.version}`);
  if (task === 'recognize')
    lines.push(`${shown.length} of ${result.prompts.length} structures the model knows are present`);
  lines.push(`wrote ${written.length} files to ${dir}`);
  return lines.join('\n');
}

function describePrompt(p: PromptResult, task: TaskName): string {
  const name = p.concept ? `${p.concept.name} [${p.concept.id}]` : '';
  const score = p.score === null ? '' : ` score ${p.score.toFixed(2)}`;
  const head = `"${p.text}": ${p.status}${name ? ` ${name}` : ''}${score}`;
  if (p.status === 'present' && p.statistics) {
    const s = p.statistics;
    const intensity = s.intensity ? `, mean ${s.intensity.mean.toFixed(1)} +- ${s.intensity.std.toFixed(1)}` : '';
    const instances =
      task === 'detect'
        ? `\n${(p.instances ?? []).map((i) => `    #${i.id} ${i.volumeMl.toFixed(2)} mL p=${i.meanProbability.toFixed(2)} centre ${i.centroidWorld.map((v) => v.toFixed(1)).join(',')} mm`).join('\n')}`
        : '';
    // A present answer's notes (uncalibrated presence, one side of a mask, what a group left out) qualify it.
    const notes = p.notes.map((note) => `\n    note: ${note}`).join('');
    return `  ${head}: ${s.volumeMl.toFixed(2)} mL${intensity}, ${(p.instances ?? []).length} instance(s)${instances}${notes}`;
  }
  const why = [...(p.evidence?.reasons ?? []), ...p.notes].join('; ');
  const suggestions = p.suggestions.length ? ` (did you mean: ${p.suggestions.slice(0, 3).join(', ')}?)` : '';
  return `  ${head}${why ? ` - ${why}` : ''}${suggestions}`;
}
