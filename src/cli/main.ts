#!/usr/bin/env node
import type { Command } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMedparseError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { EXIT, processIO, type CommandIO } from './io.js';
import { buildProgram, CommanderError, commanderOutcome, usageLine } from './program.js';
import { UsageError } from './usage.js';

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: string[], io: CommandIO = processIO): Promise<number> {
  const context: CliContext = { io, code: EXIT.ok };
  const { program, current } = buildProgram(context);
  if (argv.length === 0) {
    // no command: the overview, as wrong usage
    io.stdout(program.helpInformation().replace(/\n$/, ''));
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return context.code;
  } catch (error) {
    return reportError(error, current(), io);
  }
}

function reportError(error: unknown, command: Command, io: CommandIO): number {
  const usage = () => `; usage: ${usageLine(command)} (--help lists the options)`;
  if (error instanceof CommanderError) {
    const { code, line } = commanderOutcome(error, command);
    if (line) io.stderr(`medparse: ${line}${usage()}`);
    return code;
  }
  if (isMedparseError(error)) {
    io.stderr(`medparse: ${error.message}`);
    return EXIT.inputError;
  }
  if (error instanceof UsageError) {
    io.stderr(`medparse: ${error.message}${usage()}`);
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
