#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMedparseError } from '../core/errors.js';
import { runConvertCommand, CONVERT_USAGE } from './commands/convert.js';
import { runInfoCommand, INFO_USAGE } from './commands/info.js';
import { runModelsCommand, MODELS_USAGE } from './commands/models.js';
import { parseCommand, PARSE_USAGE } from './commands/parse.js';
import { runServeCommand, runWorkerCommand, SERVE_USAGE, WORKER_USAGE } from './commands/serve.js';
import { runVocabCommand, VOCAB_USAGE } from './commands/vocab.js';
import { EXIT, processIO, type CommandIO } from './io.js';
import { UsageError } from './usage.js';

type Command = { summary: string; usage: string; run: (args: string[], io: CommandIO) => Promise<number> };

const COMMANDS: Record<string, Command> = {
  segment: {
    summary: 'one mask per prompt, with volumes and intensities',
    usage: PARSE_USAGE.segment,
    run: parseCommand('segment'),
  },
  detect: {
    summary: 'objects as instances: boxes, volumes, confidence',
    usage: PARSE_USAGE.detect,
    run: parseCommand('detect'),
  },
  recognize: {
    summary: 'everything the model finds in the scan, named and coded',
    usage: PARSE_USAGE.recognize,
    run: parseCommand('recognize'),
  },
  models: { summary: 'list installed model packages', usage: MODELS_USAGE, run: runModelsCommand },
  info: {
    summary: 'describe an image: grid, spacing, affine, orientation, values',
    usage: INFO_USAGE,
    run: runInfoCommand,
  },
  convert: {
    summary: 'convert any supported image (or DICOM series) to NIfTI',
    usage: CONVERT_USAGE,
    run: runConvertCommand,
  },
  vocab: {
    summary: 'look up anatomy concepts: resolve prompts, search, list',
    usage: VOCAB_USAGE,
    run: runVocabCommand,
  },
  serve: {
    summary: 'HTTP service: submit images, follow jobs, fetch results',
    usage: SERVE_USAGE,
    run: runServeCommand,
  },
  worker: { summary: 'run the jobs of a service started with --redis', usage: WORKER_USAGE, run: runWorkerCommand },
};

export function helpText(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'medparse: parse 3D medical images from text',
    '',
    'usage: medparse <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    "medparse <command> --help shows a command's options.",
  ].join('\n');
}

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(helpText());
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`medparse: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
    return EXIT.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`usage: ${command.usage}`);
    return EXIT.ok;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    return reportError(error, command, io);
  }
}

function reportError(error: unknown, command: Command, io: CommandIO): number {
  if (isMedparseError(error)) {
    io.stderr(`medparse: ${error.message}`);
    return EXIT.inputError;
  }
  if (error instanceof UsageError) {
    io.stderr(`medparse: ${error.message}\nusage: ${command.usage}`);
    return EXIT.usage;
  }
  // node:util parseArgs reports unknown or malformed options with this code.
  if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
    io.stderr(`medparse: ${error.message}\nusage: ${command.usage}`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`medparse: internal error: ${message}`);
  if (process.env.MEDPARSE_DEBUG && error instanceof Error && error.stack) io.stderr(error.stack);
  else io.stderr('This is a bug in medparse; run again with MEDPARSE_DEBUG=1 for details and report it.');
  return EXIT.internal;
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * What happens outside runCli: a reader that closed the pipe (`medparse vocab list | head`) wants no
 * more output, so the run ends quietly; anything else escaping is a bug, reported in one line.
 */
function installProcessGuards(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      reportEscaped(error);
    });
  }
  process.on('uncaughtException', reportEscaped);
  process.on('unhandledRejection', reportEscaped);
}

function reportEscaped(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  try {
    process.stderr.write(`medparse: internal error: ${message}\n`);
    if (process.env.MEDPARSE_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  } finally {
    process.exit(EXIT.internal);
  }
}

if (isEntryPoint()) {
  installProcessGuards();
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
