import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { makePhantomCt } from '../../core/phantom.js';
import { DEFAULT_MODEL_DIR, packageVersion } from '../../core/paths.js';
import type { ParseEngine } from '../../tasks/engine.js';
import type { OutputFolder, TaskName } from '../../tasks/output-folder.js';
import type { ParseResult, PromptResult } from '../../tasks/results.js';
import { addImageChoiceOptions, type CliContext, type ImageChoiceOptions } from '../context.js';
import { EXIT, type CommandIO } from '../io.js';
import { collect, parseVolumeIndex, UsageError } from '../usage.js';

interface ParseCommandOptions extends ImageChoiceOptions {
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

const TASKS: Record<TaskName, { summary: string; description: string; example: string }> = {
  segment: {
    summary: 'one mask per prompt, with volumes and intensities',
    description:
      'Answer each prompt with a mask on the input grid, its volume and intensities, or absent, unsupported ' +
      'or unknown with the reason. Writes labels.nii.gz, labels.json, a mask per present prompt, preview.png ' +
      'and report.json into the output folder.',
    example: 'medparse segment ct.nii.gz -p "liver, spleen and both kidneys" -o results',
  },
  detect: {
    summary: 'objects as instances: boxes, volumes, confidence',
    description:
      'As segment, and list every instance (connected object) of each present prompt with its box, centre, ' +
      'volume and mean probability.',
    example: 'medparse detect ct.nii.gz -p "kidney lesions" -o results',
  },
  recognize: {
    summary: 'everything the model finds in the scan, named and coded',
    description: "Run every concept the model knows for the image's modality and report those present.",
    example: 'medparse recognize ct.nii.gz -o results',
  },
};

/** segment, detect and recognize share their options and body: they differ in prompts and in what is printed. */
export function defineParseCommands(program: Command, context: CliContext): void {
  for (const task of ['segment', 'detect', 'recognize'] as const) {
    const command = program
      .command(task)
      .summary(TASKS[task].summary)
      .description(TASKS[task].description)
      .argument('[image]', 'an image file, a DICOM folder or a .zip (or --demo)');
    if (task !== 'recognize')
      command.option(
        '-p, --prompts <text>',
        'what to look for, in plain words ("liver, both kidneys"); may be given more than once',
        collect,
      );
    else command.option('-p, --prompts <text>', 'not taken: recognize looks for everything the model knows', collect);
    command
      .option('-o, --output <dir>', 'the results folder (created; must not hold results unless --force)')
      .option('--modality <CT|MR>', "the image's modality (default: from the file, else guessed from its values)")
      .option('--model <dir>', 'a model package folder (default: the shipped model)')
      .option('--threads <n>', 'CPU threads for the networks (default: the cores, at most 8)')
      .option('--device <cpu>', 'where networks run; this install of onnxruntime-node has the CPU only', 'cpu')
      .option(
        '--memory-limit-gb <gb>',
        "refuse a request estimated to need more memory (default 75 % of the machine's)",
      )
      .option('--dicom-seg', 'also write segmentation.dcm (DICOM inputs always get one)')
      .option('--no-preview', 'do not write preview.png')
      .option('--keep-islands', "keep the networks' raw masks: no removal of stray islands")
      .option('--experimental', 'also answer concepts the model withholds (measured not to work), with a note')
      .option('--force', "replace an earlier run's results in the folder (only files it wrote, unchanged since)")
      .option('--demo', 'parse the built-in synthetic CT instead of a file')
      .option('--json', 'print report.json instead of a summary')
      .option('--quiet', 'no progress display (the answers are still printed)');
    addImageChoiceOptions(command)
      .addHelpText('after', `\nExample:\n  ${TASKS[task].example}`)
      .action(async (image: string | undefined, options: ParseCommandOptions) => {
        context.code = await runParse(task, image, options, context.io);
      });
  }
}

async function runParse(
  task: TaskName,
  image: string | undefined,
  values: ParseCommandOptions,
  io: CommandIO,
): Promise<number> {
  if (!values.demo && image === undefined)
    throw new UsageError(`${task} needs one image (a file, a DICOM folder or a .zip), or --demo`);
  const prompts = joinPrompts(values.prompts);
  if (task !== 'recognize' && !prompts) throw new UsageError(`${task} needs prompts: -p "liver, spleen"`);
  if (task === 'recognize' && prompts)
    throw new UsageError('recognize looks for everything the model knows and takes no prompts: use segment -p');
  if (!values.output) throw new UsageError(`${task} needs an output folder: -o <dir>`);
  const output = values.output;
  const threads = clampThreads(values.threads, io);
  if (values.device !== 'cpu')
    throw new UsageError(
      `--device must be cpu (this install's onnxruntime-node has no GPU provider), got "${values.device}"`,
    );
  const memoryLimitGb = values.memoryLimitGb === undefined ? undefined : Number(values.memoryLimitGb);
  if (memoryLimitGb !== undefined && !(memoryLimitGb > 0))
    throw new UsageError(`--memory-limit-gb must be a number > 0, got "${values.memoryLimitGb}"`);
  const { ParseEngine, OutputFolder, writeResults, readVolume, progressDisplay } = await loadParseModules();
  const display = values.quiet ? undefined : progressDisplay(io);
  const progress = display?.report;
  // checked (a writable folder, not the input, nothing of the user's in the way) and locked before any inference
  // the handlers come first: a signal between taking the lock and installing them would leave the lock
  let folder: OutputFolder | undefined;
  const removeSignalHandlers = releaseOnSignals(() => folder);
  try {
    folder = OutputFolder.open(output, {
      force: values.force,
      inputs: image === undefined || values.demo ? [] : [image],
    });
  } catch (error) {
    removeSignalHandlers();
    throw error;
  }
  let engine: ParseEngine | undefined;
  try {
    engine = ParseEngine.load(values.model ?? DEFAULT_MODEL_DIR, {
      threads,
      device: 'cpu',
      memoryLimitGb,
      keepIslands: values.keepIslands,
      experimental: values.experimental,
      onProgress: progress,
    });
    progress?.({ stage: 'read', fraction: 0 });
    const volume =
      values.demo || image === undefined
        ? makePhantomCt()
        : await readVolume(image, {
            volume: parseVolumeIndex(values.volume),
            series: values.series,
            // --memory-limit-gb is checked from the header, before the voxels are read
            checkHeader: engine.checkHeader,
            onProgress: progress,
          });
    const options = { modality: values.modality };
    const result =
      task === 'recognize' ? await engine.recognize(volume, options) : await engine.segment(volume, prompts, options);
    progress?.({ stage: 'write', fraction: 0 });
    const written = await writeResults(output, result, engine.vocabulary, {
      task,
      dicomSeg: values.dicomSeg,
      preview: values.preview,
      force: values.force,
      medparseVersion: packageVersion(),
      folder,
    });
    display?.stop();
    io.stdout(values.json ? readFileSync(`${output}/report.json`, 'utf8') : summarize(result, task, output, written));
    return EXIT.ok;
  } finally {
    display?.stop();
    folder.release();
    removeSignalHandlers();
    await engine?.dispose();
  }
}

/**
 * The engine (onnxruntime-node), the readers and writers (DICOM codecs) and the progress bars, imported
 * when a parse runs rather than when the CLI starts: --version, --help and the other commands need none
 * of them. After the usage checks, so that a usage error answers as fast as --help.
 */
async function loadParseModules() {
  const [{ ParseEngine }, { OutputFolder, writeResults }, { readVolume }, { progressDisplay }] = await Promise.all([
    import('../../tasks/engine.js'),
    import('../../tasks/output-folder.js'),
    import('../../io/read.js'),
    import('../progress.js'),
  ]);
  return { ParseEngine, OutputFolder, writeResults, readVolume, progressDisplay };
}

/**
 * Threads beyond the machine's cores only contend (--threads 1000 made a 4 s run take 200 s): the
 * count is clamped to the cores, with a note.
 */
function clampThreads(given: string | undefined, io: CommandIO): number | undefined {
  if (given === undefined) return undefined;
  const threads = Number(given);
  if (!(Number.isInteger(threads) && threads > 0))
    throw new UsageError(`--threads must be a whole number > 0, got "${given}"`);
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
