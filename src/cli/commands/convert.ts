import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MedparseError } from '../../core/errors.js';
import { addImageChoiceOptions, type CliContext, type ImageChoiceOptions } from '../context.js';
import { EXIT } from '../io.js';
import { parseVolumeIndex, UsageError } from '../usage.js';

interface ConvertOptions extends ImageChoiceOptions {
  force: boolean;
}

export function defineConvertCommand(program: Command, context: CliContext): void {
  const command = program
    .command('convert')
    .summary('convert any supported image (or DICOM series) to NIfTI')
    .description('Convert any image medparse reads (or a DICOM series) to NIfTI, keeping its geometry.')
    .argument('<input>', 'an image file, a DICOM folder or a .zip')
    .argument('<output>', 'the NIfTI file to write (.nii or .nii.gz)')
    .option('--force', 'replace the output file if it exists');
  addImageChoiceOptions(command).action(async (input: string, output: string, options: ConvertOptions) => {
    if (!/\.nii(\.gz)?$/i.test(output))
      throw new UsageError(`output "${output}" must end in .nii or .nii.gz (NIfTI is the format medparse writes)`);
    if (resolve(input) === resolve(output))
      throw new MedparseError('OUTPUT_EXISTS', 'output is the input file itself; choose another output path', output);
    if (existsSync(output) && !options.force)
      throw new MedparseError(
        'OUTPUT_EXISTS',
        'output already exists; choose another path or pass --force to replace it',
        output,
      );
    // the readers and writer (DICOM codecs among them) load when converting, not when the CLI starts
    const [{ readVolume }, { writeNifti }] = await Promise.all([
      import('../../io/read.js'),
      import('../../io/write-nifti.js'),
    ]);
    const volume = await readVolume(input, { volume: parseVolumeIndex(options.volume), series: options.series });
    await writeNifti(output, volume);
    context.io.stdout(`wrote ${output} (${volume.dims.join('x')}, ${volume.meta.sourceFormat} -> NIfTI-1)`);
    context.code = EXIT.ok;
  });
}
