/**
 * The medparse command line, on commander: per-command --help listing every option, --version,
 * suggestions for misspelt commands and options. Built anew for every run (tests run many in one process).
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../core/paths.js';
import { defineConvertCommand } from './commands/convert.js';
import { defineInfoCommand } from './commands/info.js';
import { defineModelsCommand } from './commands/models.js';
import { defineParseCommands } from './commands/parse.js';
import { defineServiceCommands } from './commands/serve.js';
import { defineVocabCommand } from './commands/vocab.js';
import type { CliContext } from './context.js';
import { EXIT } from './io.js';

export interface CliProgram {
  program: Command;
  /** The command whose action is running (or whose arguments were refused), for its usage line. */
  current: () => Command;
}

export function buildProgram(context: CliContext): CliProgram {
  const program = new Command('medparse')
    .description('medparse: parse 3D medical images (CT, MRI) from plain-language prompts')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show the options')
    .helpCommand('help [command]', "show a command's options")
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 bad input, 2 wrong usage, 70 internal error (MEDPARSE_DEBUG=1 prints a trace).' +
        "\nmedparse <command> --help shows a command's options.",
    );
  let current: Command = program;
  program.hook('preAction', (_root, action) => {
    current = action;
  });
  defineParseCommands(program, context);
  defineModelsCommand(program, context);
  defineInfoCommand(program, context);
  defineConvertCommand(program, context);
  defineVocabCommand(program, context);
  defineServiceCommands(program, context);
  // every command, nested ones included, reports instead of exiting and writes through the context
  const configure = (command: Command) => {
    command
      .exitOverride()
      .configureOutput({
        writeOut: (text) => context.io.stdout(text.replace(/\n$/, '')),
        // errors are formatted by runCli, one line with the usage; help shown on error is dropped there
        writeErr: () => undefined,
        outputError: () => undefined,
      })
      .showSuggestionAfterError(true);
    // the command being parsed, so that a refusal prints its usage
    command.hook('preSubcommand', (_parent, sub) => {
      current = sub;
    });
    command.commands.forEach(configure);
  };
  configure(program);
  return { program, current: () => current };
}

/** commander's message in medparse's one-line form: "unknown option '--colour' (did you mean --color?)". */
export function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)')
    .replace(/\n+/g, ' ')
    .trim();
}

/** "medparse info [options] [image]" */
export function usageLine(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return `${names.join(' ')} ${command.usage()}`;
}

/** Exit code and line for what commander refused; undefined for help and version, which exit 0. */
export function commanderOutcome(error: CommanderError, command: Command): { code: number; line?: string } {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return { code: EXIT.ok };
  if (error.code === 'commander.help') {
    // `medparse help` exits 0; help shown because a command needs a subcommand is wrong usage
    if (error.exitCode === 0) return { code: EXIT.ok };
    const subcommands = command.commands.map((c) => c.name()).join(', ');
    return { code: EXIT.usage, line: `${command.name()} needs a subcommand: ${subcommands}` };
  }
  return { code: EXIT.usage, line: oneLine(error.message) };
}

export { CommanderError };
