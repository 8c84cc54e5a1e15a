/**
 * Bundles the web viewer (src/viewer) with esbuild into dist/viewer: index.html, viewer.css and
 * viewer.js (NiiVue included), static files that `medparse serve` serves at / and that any web
 * server can host. Part of `npm run build`; type-checked by `tsc -p tsconfig.viewer.json`.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { ORT_FILES } from '../src/browser/ort-files.js';
import { PACKAGE_ROOT, packageVersion } from '../src/core/paths.js';

const VIEWER_SOURCE = join(PACKAGE_ROOT, 'src', 'viewer');
const VIEWER_OUT = join(PACKAGE_ROOT, 'dist', 'viewer');

/** onnxruntime-web's builds (WebAssembly and glue), served beside the worker bundle. */
const ORT_BUILD_FILES = Object.values(ORT_FILES).flatMap((build) => [build.wasm, build.mjs]);

/**
 * The DICOM reader's WebAssembly codecs (src/io/dicom/codecs/wasm-codecs.ts), served beside the worker
 * bundle: in a worker their Emscripten glue looks for its .wasm next to the worker's script.
 */
const CODEC_WASM = [
  '@cornerstonejs/codec-charls/dist/charlswasm_decode.wasm',
  '@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.wasm',
  '@cornerstonejs/codec-openjph/dist/openjphjs.wasm',
  '@cornerstonejs/codec-libjpeg-turbo-8bit/dist/libjpegturbowasm_decode.wasm',
];

/**
 * The codecs' Emscripten glue require()s fs and path only in its Node branch (ENVIRONMENT_IS_NODE),
 * never taken in a browser: those two, asked for by those files only, resolve to an empty module.
 * Anything else that reaches for a Node built-in still fails the build.
 */
const codecGlueWithoutNode: Plugin = {
  name: 'codec-glue-without-node',
  setup(plugin) {
    plugin.onResolve({ filter: /^(fs|path)$/ }, (args) =>
      /[\\/]@cornerstonejs[\\/]codec-[^\\/]+[\\/]dist[\\/]/.test(args.importer)
        ? { path: args.path, namespace: 'codec-glue-node-branch' }
        : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'codec-glue-node-branch' }, () => ({ contents: 'module.exports = {};' }));
  },
};

async function buildViewer(): Promise<string[]> {
  rmSync(VIEWER_OUT, { recursive: true, force: true });
  mkdirSync(VIEWER_OUT, { recursive: true });
  // a classic script: pages opened from a file (file://) may not load modules
  await bundle(join(VIEWER_SOURCE, 'main.ts'), 'viewer.js', 'iife');
  // the in-browser engine (issue 21): a module worker, as onnxruntime-web's bundle is an ES module
  await bundle(join(PACKAGE_ROOT, 'src', 'browser', 'engine-worker.ts'), 'engine-worker.js', 'esm');
  for (const name of ORT_BUILD_FILES)
    copyFileSync(join(PACKAGE_ROOT, 'node_modules', 'onnxruntime-web', 'dist', name), join(VIEWER_OUT, name));
  for (const path of CODEC_WASM)
    copyFileSync(join(PACKAGE_ROOT, 'node_modules', path), join(VIEWER_OUT, basename(path)));
  for (const name of ['index.html', 'viewer.css']) copyFileSync(join(VIEWER_SOURCE, name), join(VIEWER_OUT, name));
  return [
    'index.html',
    'viewer.css',
    'viewer.js',
    'engine-worker.js',
    ...ORT_BUILD_FILES,
    ...CODEC_WASM.map((p) => basename(p)),
  ];
}

async function bundle(entry: string, name: string, format: 'iife' | 'esm'): Promise<void> {
  const result = await build({
    entryPoints: [entry],
    outfile: join(VIEWER_OUT, name),
    bundle: true,
    format,
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: true,
    metafile: true,
    plugins: [codecGlueWithoutNode],
    // report.json names the medparse that wrote it, in the browser too
    define: { MEDPARSE_VERSION: JSON.stringify(packageVersion()) },
    logLevel: 'warning',
  });
  // A browser bundle must not pull in a Node built-in (issue 21: the engine runs in the browser too).
  const nodeBuiltins = Object.keys(result.metafile.inputs).filter((path) => /^node:|^(fs|path)$/.test(path));
  if (nodeBuiltins.length) throw new Error(`${name} imports Node built-ins: ${nodeBuiltins.join(', ')}`);
}

const files = await buildViewer();
console.log(`viewer: ${files.join(', ')} in ${VIEWER_OUT}`);
