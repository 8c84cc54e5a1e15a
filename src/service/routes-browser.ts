/**
 * What the viewer's in-browser mode fetches to run the engine itself (issue 21): the served model
 * package's model.json and the network files it names, and the vocabulary. Nothing else of the model
 * folder is reachable; like the rest of the API, these need the API key when the server has one.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { manifestPath, readModelManifest } from '../runtime/model-manifest.js';
import { VOCABULARY_PATH } from '../vocab/vocabulary-file.js';
import { HttpError } from './upload.js';

export function registerBrowserEngineRoutes(app: FastifyInstance, modelDir: string): void {
  const manifest = readFileSync(manifestPath(modelDir));
  const networkFiles = new Set(readModelManifest(modelDir).networks.map((n) => n.file));
  const vocabulary = readFileSync(VOCABULARY_PATH);
  const json = 'application/json; charset=utf-8';
  app.get('/v1/browser/model.json', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(json).send(manifest),
  );
  app.get('/v1/browser/vocabulary.json', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(json).send(vocabulary),
  );
  app.get<{ Params: { '*': string } }>('/v1/browser/files/*', { schema: { hide: true } }, async (request, reply) => {
    const name = request.params['*'];
    if (!networkFiles.has(name))
      throw new HttpError(404, 'NOT_FOUND', `"${name}" is not a network file of the served model package`);
    return reply.type('application/octet-stream').send(createReadStream(resolve(modelDir, name)));
  });
}
