import type { Command } from 'commander';
import { makePhantomCt } from '../../core/phantom.js';
import { addImageChoiceOptions, type CliContext, type ImageChoiceOptions } from '../context.js';
import { describeVolume, formatDescription } from '../describe.js';
import { EXIT } from '../io.js';
import { parseVolumeIndex, UsageError } from '../usage.js';

interface InfoOptions extends ImageChoiceOptions {
  json: boolean;
  demo: boolean;
}

export function defineInfoCommand(program: Command, context: CliContext): void {
  const command = program
    .command('info')
    .summary('describe an image: grid, spacing, affine, orientation, values')
    .description(
      'Describe an image: grid, voxel size, affine (RAS+ mm), orientation code, data type and value range. ' +
        'Reads NIfTI, MGH/MGZ, NRRD, MetaImage, and DICOM (a folder, a .zip or a file of one series).',
    )
    .argument('[image]', 'an image file, a DICOM folder or a .zip')
    .option('--json', 'print JSON instead of text')
    .option('--demo', 'describe the built-in synthetic CT instead of a file');
  addImageChoiceOptions(command).action(async (image: string | undefined, options: InfoOptions) => {
    if (!options.demo && image === undefined)
      throw new UsageError('info needs exactly one image (a file, a DICOM folder or a .zip)');
    // the readers (DICOM codecs among them) load when an image is read, not when the CLI starts
    const { readVolume } = await import('../../io/read.js');
    const volume = options.demo
      ? makePhantomCt()
      : await readVolume(image!, { volume: parseVolumeIndex(options.volume), series: options.series });
    const description = describeVolume(volume);
    context.io.stdout(options.json ? JSON.stringify(description) : formatDescription(description));
    context.code = EXIT.ok;
  });
}
