import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  findModelPackages,
  loadModelPackage,
  modelListing,
  WORKING_AXIS_NAMES,
  type NetworkSpec,
} from '../../runtime/model-package.js';
import { describeScope, SCAN_SCOPES } from '../../runtime/scan-scope.js';
import { DEFAULT_MODEL_DIR } from '../../core/paths.js';
import { EXIT, type CommandIO } from '../io.js';

export const MODELS_USAGE = 'medparse models [--dir DIR] [--json]';

/** Lists installed model packages: their networks, modalities, working spacing, concepts and withheld concepts. */
export async function runModelsCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { dir: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const root = resolve(values.dir ?? dirname(DEFAULT_MODEL_DIR));
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
    parts.push(`runs in ${2 ** network.flipSearch.length} orientations (flipped along ${axes}) and keeps the surest`);
  }
  return parts.length ? parts.join('; ') : undefined;
}
