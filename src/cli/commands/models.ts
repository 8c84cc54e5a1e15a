import type { Command } from 'commander';
import { resolve } from 'node:path';
import {
  findModelPackages,
  loadModelPackage,
  modelListing,
  WORKING_AXIS_NAMES,
  type NetworkSpec,
} from '../../runtime/model-package.js';
import { describeScope, SCAN_SCOPES } from '../../runtime/scan-scope.js';
import { MODELS_DIR } from '../../core/paths.js';
import type { CliContext } from '../context.js';
import { EXIT, type CommandIO } from '../io.js';

export function defineModelsCommand(program: Command, context: CliContext): void {
  program
    .command('models')
    .summary('list installed model packages')
    .description(
      'List installed model packages: their networks, modalities, working voxel size, the concepts they ' +
        'answer and those they withhold (measured not to work; segment --experimental answers them).',
    )
    .option('--dir <dir>', `the folder of model packages to list (default: the shipped ones, ${MODELS_DIR})`)
    .option('--json', 'print JSON instead of text')
    .action((options: { dir?: string; json: boolean }) => {
      context.code = listModels(options, context.io);
    });
}

/** Lists installed model packages: their networks, modalities, working spacing, concepts and withheld concepts. */
function listModels(values: { dir?: string; json: boolean }, io: CommandIO): number {
  const root = resolve(values.dir ?? MODELS_DIR);
  const packages = findModelPackages(root).map((dir) => loadModelPackage(dir));
  if (values.json) {
    io.stdout(JSON.stringify(packages.map(modelListing), null, 2));
    return EXIT.ok;
  }
  if (packages.length === 0) {
    io.stdout(`no model packages in ${root}`);
    return EXIT.ok;
  }
  for (const p of packages) {
    io.stdout(`${p.name} ${p.version} (${p.dir}), licence: ${p.license}`);
    for (const n of p.networks) {
      const answered = n.concepts.filter((c) => !c.withheld).map((c) => c.id);
      const withheld = n.concepts.filter((c) => c.withheld).map((c) => c.id);
      io.stdout(
        `  ${n.id}: ${n.modalities.join('/')}, ${n.spacing.join('x')} mm, patch ${n.patchSize.join('x')}, ${answered.length} concepts: ${answered.join(', ')}`,
      );
      const stack = describeStackHandling(n);
      if (stack) io.stdout(`    ${stack}`);
      // Rows measured not to work: named, so nobody wonders where they went (--experimental answers them).
      if (withheld.length) io.stdout(`    withheld (--experimental answers them): ${withheld.join(', ')}`);
      for (const scope of SCAN_SCOPES) {
        const onScope = n.concepts.filter((c) => !c.withheld && c.withheldOn?.[scope]).map((c) => c.id);
        if (onScope.length) io.stdout(`    withheld on ${describeScope(scope)}: ${onScope.join(', ')}`);
      }
      if (n.maxSliceMm !== undefined)
        io.stdout(`    every concept withheld on slices thicker than ${n.maxSliceMm} mm (--experimental answers them)`);
    }
  }
  return EXIT.ok;
}

/** How a network takes slice stacks and orientations it was not trained in, when it differs from the default. */
function describeStackHandling(network: NetworkSpec): string | undefined {
  const parts: string[] = [];
  if (network.sliceAxis === 'thickest') parts.push('takes a stack of thick slices with its slices along z');
  if (network.flipSearch.length) {
    const axes = network.flipSearch.map((axis) => WORKING_AXIS_NAMES[axis]).join(', ');
    const keeps = network.flipSearchMargin
      ? `keeps the acquired one unless another is surer by more than ${network.flipSearchMargin}`
      : 'keeps the surest';
    parts.push(`runs in ${2 ** network.flipSearch.length} orientations (flipped along ${axes}) and ${keeps}`);
  }
  return parts.length ? parts.join('; ') : undefined;
}
