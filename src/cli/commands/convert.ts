import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MedparseError } from '../../core/errors.js';
import { readVolume } from '../../io/read.js';
import { writeNifti } from '../../io/write-nifti.js';
import { EXIT, type CommandIO } from '../io.js';
import { parseVolumeIndex, UsageError } from '../usage.js';

export const CONVERT_USAGE = 'medparse convert <input> <output.nii.gz> [--volume N] [--series UID[,UID...]] [--force]';

export async function runConvertCommand(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      volume: { type: 'string' },
      series: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 2) throw new UsageError('convert needs an input and an output path', CONVERT_USAGE);
  const [input, output] = positionals;
  if (!/\.nii(\.gz)?$/i.test(output))
    throw new UsageError(
      `output "${output}" must end in .nii or .nii.gz (NIfTI is the format medparse writes)`,
      CONVERT_USAGE,
    );
  if (resolve(input) === resolve(output))
    throw new MedparseError('OUTPUT_EXISTS', 'output is the input file itself; choose another output path', output);
  if (existsSync(output) && !values.force)
    throw new MedparseError(
      'OUTPUT_EXISTS',
      'output already exists; choose another path or pass --force to replace it',
      output,
    );
  const volume = await readVolume(input, { volume: parseVolumeIndex(values.volume), series: values.series });
  await writeNifti(output, volume);
  io.stdout(`wrote ${output} (${volume.dims.join('x')}, ${volume.meta.sourceFormat} -> NIfTI-1)`);
  return EXIT.ok;
}
