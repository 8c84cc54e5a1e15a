import { parseArgs } from 'node:util';
import { makePhantomCt } from '../../core/phantom.js';
import { readVolume } from '../../io/read.js';
import { describeVolume, formatDescription } from '../describe.js';
import { EXIT, type CommandIO } from '../io.js';
import { parseVolumeIndex, UsageError } from '../usage.js';

export const INFO_USAGE = `medparse info <image> [--json] [--volume N] [--series UID[,UID...]]
medparse info --demo [--json]     describe the built-in synthetic CT`;

export async function runInfoCommand(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      volume: { type: 'string' },
      series: { type: 'string' },
    },
  });
  if (!values.demo && positionals.length !== 1)
    throw new UsageError('info needs exactly one image (a file, a DICOM folder or a .zip)', INFO_USAGE);
  const volume = values.demo
    ? makePhantomCt()
    : await readVolume(positionals[0], { volume: parseVolumeIndex(values.volume), series: values.series });
  const description = describeVolume(volume);
  io.stdout(values.json ? JSON.stringify(description) : formatDescription(description));
  return EXIT.ok;
}
