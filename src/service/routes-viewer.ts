/**
 * The web viewer at / (issue 21): the static files `npm run build` bundles into dist/viewer. Only
 * those names are served, read once at start; without a build, / says how to make one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../core/paths.js';
import { HttpError } from './upload.js';

export const VIEWER_DIR = join(PACKAGE_ROOT, 'dist', 'viewer');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  // onnxruntime-web's WebAssembly, for the in-browser mode
  '.wasm': 'application/wasm',
};

/**
 * Sent with every viewer file: they make the page cross-origin isolated (COOP same-origin with COEP
 * require-corp, on the page and on the worker scripts), the only way a browser lets a page share memory
 * between threads, which the in-browser engine's multi-threaded WebAssembly needs. Everything the page
 * loads is from this origin or fetched with CORS (the API of `?api=`), which COEP allows. The API's own
 * answers do not get them: a page elsewhere (or a file:// one, through --cors) reads them as before.
 */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
} as const;

/** The viewer's files by URL path ('/' is index.html), as the build left them. */
export function viewerFiles(dir: string = VIEWER_DIR): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[/\.[a-z]+$/.exec(name)?.[0] ?? ''];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    files.set(`/${name}`, { body, type });
    if (name === 'index.html') files.set('/', { body, type });
  }
  return files;
}

/** Whether a request is for the viewer's static files (no API key needed: they hold no data). */
export function isViewerPath(url: string, files: ReadonlyMap<string, unknown>): boolean {
  return files.has(url.split('?')[0]);
}

export function registerViewerRoutes(
  app: FastifyInstance,
  files: ReadonlyMap<string, { body: Buffer; type: string }>,
): void {
  if (!files.has('/'))
    app.get('/', { schema: { hide: true } }, async () => {
      throw new HttpError(
        404,
        'VIEWER_NOT_BUILT',
        `the web viewer is not built (no ${join(VIEWER_DIR, 'index.html')}): run npm run build`,
      );
    });
  for (const [path, file] of files)
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply.type(file.type).header('cache-control', 'no-cache').headers(ISOLATION_HEADERS).send(file.body),
    );
}
