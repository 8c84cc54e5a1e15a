import type { Command } from 'commander';
import type { CommandIO } from './io.js';

/** What a command's action needs beyond its arguments: where to write, and where its exit code goes. */
export interface CliContext {
  io: CommandIO;
  code: number;
}

/** Options every command that reads an image takes. */
export interface ImageChoiceOptions {
  volume?: string;
  series?: string;
}

export function addImageChoiceOptions(command: Command): Command {
  return command
    .option('--volume <n>', 'which volume of a 4D file to read (0-based; required when the file holds several)')
    .option(
      '--series <uid[,uid...]>',
      'the DICOM series to read from a folder or zip that holds several (SeriesInstanceUID; several join one volume)',
    );
}
