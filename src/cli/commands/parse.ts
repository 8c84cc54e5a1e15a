import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ParseEngine } from '../../tasks/engine.js';
import type { OutputFolder, TaskName } from '../../tasks/output-folder.js';
import { checkBatchInputs } from '../batch-cases.js';
import { addImageChoiceOptions, type CliContext } from '../context.js';
import { EXIT, type CommandIO } from '../io.js';
import { collect, UsageError } from '../usage.js';
import {
  loadEngine,
  loadParseModules,
  parseImage,
  releaseOnSignals,
  summarize,
  writeImageResults,
  type ParseCommandOptions,
  type ParseRun,
} from './parse-run.js';

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

/** The help on several images, with the task's own example. */
function severalImagesHelp(task: TaskName): string {
  const prompts = task === 'recognize' ? '' : ' -p liver';
  return `Several images: medparse ${task} a.nii.gz b.nii.gz dicom-folder/ c.zip${prompts} -o results
  loads the model once; each image's results go in results/<case>/ (the same files as for one image),
  and results/summary.csv and summary.json hold one row per image and prompt (status, score, concept, mL,
  voxels, mean and std intensity, instances, mask file), or the error of an image that failed. <case> is
  the file or folder name without its image extension, characters other than letters, digits, '.', '_'
  and '-' made '_'; a name already taken (ignoring case) gets -2, -3... An image that fails does not stop
  the others; the exit code is then 1 (70 if it hit an internal error). --volume and --series apply to
  every image, --force to every case's folder and to the summary files; --json prints an array with
  one entry per image (its report, or its error).`;
}

/** segment, detect and recognize share their options and body: they differ in prompts and in what is printed. */
export function defineParseCommands(program: Command, context: CliContext): void {
  for (const task of ['segment', 'detect', 'recognize'] as const) {
    const command = program
      .command(task)
      .summary(TASKS[task].summary)
      .description(TASKS[task].description)
      .argument('[image]', 'an image file, a DICOM folder or a .zip (or --demo)')
      .argument('[more-images...]', 'more images: the model is loaded once, each image gets its own folder in -o');
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
      .option('--json', 'print report.json instead of a summary (several images: an array, one entry per image)')
      .option('--quiet', 'no progress display (the answers are still printed)');
    addImageChoiceOptions(command)
      .addHelpText('after', `\nExample:\n  ${TASKS[task].example}\n\n${severalImagesHelp(task)}`)
      .action(async (image: string | undefined, moreImages: string[], options: ParseCommandOptions) => {
        context.code = await runParse(task, image === undefined ? [] : [image, ...moreImages], options, context.io);
      });
  }
}

async function runParse(
  task: TaskName,
  images: readonly string[],
  values: ParseCommandOptions,
  io: CommandIO,
): Promise<number> {
  if (values.demo && images.length > 1)
    throw new UsageError(`--demo parses the built-in synthetic CT, not ${images.length} images: give images or --demo`);
  if (!values.demo && images.length === 0)
    throw new UsageError(`${task} needs one image (a file, a DICOM folder or a .zip) or several, or --demo`);
  const prompts = joinPrompts(values.prompts);
  if (task !== 'recognize' && !prompts) throw new UsageError(`${task} needs prompts: -p "liver, spleen"`);
  if (task === 'recognize' && prompts)
    throw new UsageError('recognize looks for everything the model knows and takes no prompts: use segment -p');
  if (!values.output) throw new UsageError(`${task} needs an output folder: -o <dir>`);
  const output = values.output;
  if (images.length > 1) checkBatchInputs(images, output);
  const threads = clampThreads(values.threads, io);
  if (values.device !== 'cpu')
    throw new UsageError(
      `--device must be cpu (this install's onnxruntime-node has no GPU provider), got "${values.device}"`,
    );
  const memoryLimitGb = values.memoryLimitGb === undefined ? undefined : Number(values.memoryLimitGb);
  if (memoryLimitGb !== undefined && !(memoryLimitGb > 0))
    throw new UsageError(`--memory-limit-gb must be a number > 0, got "${values.memoryLimitGb}"`);
  const modules = await loadParseModules();
  const display = values.quiet ? undefined : modules.progressDisplay(io);
  const run: ParseRun = { task, prompts, output, values, threads, memoryLimitGb, io, modules, display };
  if (images.length > 1) return (await import('./parse-batch.js')).runBatch(run, images);
  return runOneImage(run, values.demo ? undefined : images[0]);
}

/** One image (or --demo): its results straight in the output folder. */
async function runOneImage(run: ParseRun, image: string | undefined): Promise<number> {
  const { values, output, display } = run;
  // checked (a writable folder, not the input, nothing of the user's in the way) and locked before any inference
  // the handlers come first: a signal between taking the lock and installing them would leave the lock
  let folder: OutputFolder | undefined;
  const removeSignalHandlers = releaseOnSignals(() => (folder ? [folder] : []));
  try {
    folder = run.modules.OutputFolder.open(output, {
      force: values.force,
      inputs: image === undefined ? [] : [image],
    });
  } catch (error) {
    removeSignalHandlers();
    throw error;
  }
  let engine: ParseEngine | undefined;
  try {
    engine = loadEngine(run);
    const result = await parseImage(run, engine, image);
    const written = await writeImageResults(run, engine, output, result, folder);
    display?.stop();
    run.io.stdout(
      values.json ? readFileSync(`${output}/report.json`, 'utf8') : summarize(result, run.task, output, written),
    );
    return EXIT.ok;
  } finally {
    display?.stop();
    folder.release();
    removeSignalHandlers();
    await engine?.dispose();
  }
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

/** One prompt list from every -p given; a comma keeps repeated flags as separate prompts. */
function joinPrompts(given: string[] | undefined): string {
  return (given ?? [])
    .map((text) => text.trim())
    .filter((text) => text.length > 0)
    .join(', ');
}
