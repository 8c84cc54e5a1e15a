/**
 * Bundles the web viewer (src/viewer) with esbuild into dist/viewer: index.html, viewer.css and
 * viewer.js (NiiVue included), static files that `medparse serve` serves at / and that any web
 * server can host. Part of `npm run build`; type-checked by `tsc -p tsconfig.viewer.json`.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { PACKAGE_ROOT } from '../src/core/paths.js';

const VIEWER_SOURCE = join(PACKAGE_ROOT, 'src', 'viewer');
const VIEWER_OUT = join(PACKAGE_ROOT, 'dist', 'viewer');

async function buildViewer(): Promise<string[]> {
  rmSync(VIEWER_OUT, { recursive: true, force: true });
  mkdirSync(VIEWER_OUT, { recursive: true });
  const result = await build({
    entryPoints: [join(VIEWER_SOURCE, 'main.ts')],
    outfile: join(VIEWER_OUT, 'viewer.js'),
    bundle: true,
    // a classic script: pages opened from a file (file://) may not load modules
    format: 'iife',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: true,
    metafile: true,
    logLevel: 'warning',
  });
  // A browser bundle must not pull in a Node built-in (issue 21: the browser mode needs the same guarantee).
  const nodeBuiltins = Object.keys(result.metafile.inputs).filter((path) => path.startsWith('node:'));
  if (nodeBuiltins.length) throw new Error(`the viewer bundle imports Node built-ins: ${nodeBuiltins.join(', ')}`);
  for (const name of ['index.html', 'viewer.css']) copyFileSync(join(VIEWER_SOURCE, name), join(VIEWER_OUT, name));
  return ['index.html', 'viewer.css', 'viewer.js'];
}

const files = await buildViewer();
console.log(`viewer: ${files.join(', ')} in ${VIEWER_OUT}`);
