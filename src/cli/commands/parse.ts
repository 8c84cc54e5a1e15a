import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { ProgressEvent } from '../../core/progress.js';
import { makePhantomCt } from '../../core/phantom.js';
import { readVolume } from '../../io/read.js';
import { DEFAULT_MODEL_DIR, packageVersion } from '../../core/paths.js';
import { ParseEngine } from '../../tasks/engine.js';
import { OutputFolder, writeResults, type TaskName } from '../../tasks/output-folder.js';
import type { ParseResult, PromptResult } from '../../tasks/results.js';
import { EXIT, type CommandIO } from '../io.js';
import { parseVolumeIndex, UsageError } from '../usage.js';

const COMMON =
  '[--modality CT|MR] [--model DIR] [--threads N] [--dicom-seg] [--no-preview] [--keep-islands] [--experimental] [--force] [--volume N] [--series UID[,UID...]] [--json] [--quiet]';

export const PARSE_USAGE: Record<TaskName, string> = {
  segment: `medparse segment <image|--demo> -p "<prompts>" -o <dir> ${COMMON}`,
  detect: `medparse detect <image|--demo> -p "<prompts>" -o <dir> ${COMMON}`,
  recognize: `medparse recognize <image|--demo> -o <dir> ${COMMON}`,
};

/** segment, detect and recognize share one command body: they differ in prompts and in what is printed. */
export function parseCommand(task: TaskName) {
  return async (args: string[], io: CommandIO): Promise<number> => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        // -p may repeat (`-p liver -p spleen`, as in TotalSegmentator's --roi_subset); every one is asked
        prompts: { type: 'string', short: 'p', multiple: true },
        output: { type: 'string', short: 'o' },
        modality: { type: 'string' },
        model: { type: 'string' },
        threads: { type: 'string' },
        device: { type: 'string', default: 'cpu' },
        'memory-limit-gb': { type: 'string' },
        'dicom-seg': { type: 'boolean', default: false },
        'no-preview': { type: 'boolean', default: false },
        'keep-islands': { type: 'boolean', default: false },
        experimental: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        volume: { type: 'string' },
        series: { type: 'string' },
        demo: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
    });
    const usage = PARSE_USAGE[task];
    if (!values.demo && positionals.length !== 1)
      throw new UsageError(`${task} needs one image (a file, a DICOM folder or a .zip), or --demo`, usage);
    const prompts = joinPrompts(values.prompts);
    if (task !== 'recognize' && !prompts) throw new UsageError(`${task} needs prompts: -p "liver, spleen"`, usage);
    if (task === 'recognize' && prompts)
      throw new UsageError(
        'recognize looks for everything the model knows and takes no prompts: use segment -p',
        usage,
      );
    if (!values.output) throw new UsageError(`${task} needs an output folder: -o <dir>`, usage);
    const threads = clampThreads(values.threads, usage, io);
    if (values.device !== 'cpu' && values.device !== 'cuda')
      throw new UsageError(`--device must be cpu or cuda, got "${values.device}"`, usage);
    const memoryLimitGb = values['memory-limit-gb'] === undefined ? undefined : Number(values['memory-limit-gb']);
    if (memoryLimitGb !== undefined && !(memoryLimitGb > 0))
      throw new UsageError(`--memory-limit-gb must be a number > 0, got "${values['memory-limit-gb']}"`, usage);
    const progress = values.quiet ? undefined : progressPrinter(io);
    // checked (a writable folder, not the input, nothing of the user's in the way) and locked before any inference
    // the handlers come first: a signal between taking the lock and installing them would leave the lock
    let folder: OutputFolder | undefined;
    const removeSignalHandlers = releaseOnSignals(() => folder);
    try {
      folder = OutputFolder.open(values.output, {
        force: values.force,
        inputs: values.demo ? [] : [positionals[0]],
      });
    } catch (error) {
      removeSignalHandlers();
      throw error;
    }
    let engine: ParseEngine | undefined;
    try {
      engine = ParseEngine.load(values.model ?? DEFAULT_MODEL_DIR, {
        threads,
        device: values.device,
        memoryLimitGb,
        keepIslands: values['keep-islands'],
        experimental: values.experimental,
        onProgress: progress,
      });
      progress?.({ stage: 'read', fraction: 0 });
      const volume = values.demo
        ? makePhantomCt()
        : await readVolume(positionals[0], {
            volume: parseVolumeIndex(values.volume),
            series: values.series,
            // --memory-limit-gb is checked from the header, before the voxels are read
            checkHeader: engine.checkHeader,
          });
      const options = { modality: values.modality };
      const result =
        task === 'recognize' ? await engine.recognize(volume, options) : await engine.segment(volume, prompts, options);
      const written = await writeResults(values.output, result, engine.vocabulary, {
        task,
        dicomSeg: values['dicom-seg'],
        preview: !values['no-preview'],
        force: values.force,
        medparseVersion: packageVersion(),
        folder,
      });
      io.stdout(
        values.json
          ? readFileSync(`${values.output}/report.json`, 'utf8')
          : summarize(result, task, values.output, written),
      );
      return EXIT.ok;
    } finally {
      folder.release();
      removeSignalHandlers();
      await engine?.dispose();
    }
  };
}

/**
 * Threads beyond the machine's cores only contend (--threads 1000 made a 4 s run take 200 s): the
 * count is clamped to the cores, with a note.
 */
function clampThreads(given: string | undefined, usage: string, io: CommandIO): number | undefined {
  if (given === undefined) return undefined;
  const threads = Number(given);
  if (!(Number.isInteger(threads) && threads > 0))
    throw new UsageError(`--threads must be a whole number > 0, got "${given}"`, usage);
  const cores = availableParallelism();
  if (threads <= cores) return threads;
  io.stderr(`medparse: note: --threads ${threads} is more than this machine's ${cores} cores; using ${cores}`);
  return cores;
}

/**
 * Ctrl-C or a kill while results are staged: the staging folder and the lock go, nothing is moved
 * in, and the process ends as a signal would end it (exit 130 or 143).
 */
function releaseOnSignals(folder: () => OutputFolder | undefined): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => {
      folder()?.release();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => handlers.forEach(([signal, handler]) => process.removeListener(signal, handler));
}

/** One prompt list from every -p given; a comma keeps repeated flags as separate prompts. */
function joinPrompts(given: string[] | undefined): string {
  return (given ?? [])
    .map((text) => text.trim())
    .filter((text) => text.length > 0)
    .join(', ');
}

function summarize(result: ParseResult, task: TaskName, dir: string, written: string[]): string {
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

function progressPrinter(io: CommandIO): (event: ProgressEvent) => void {
  let last = '';
  return (event) => {
    const line = `${event.stage}${event.message ? ` ${event.message}` : ''} ${Math.round(event.fraction * 100)}%`;
    if (line !== last && (event.fraction === 0 || event.fraction === 1 || event.stage === 'inference')) io.stderr(line);
    last = line;
  };
}
