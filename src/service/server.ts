/**
 * `medparse serve`: the HTTP API (Fastify) over durable jobs. buildService() wires the data
 * folder, the queue (embedded worker pool, or BullMQ with --redis) and the routes; the caller
 * listens and closes.
 */
import { timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { loadModelPackage, type ModelPackage } from '../runtime/model-package.js';
import { loadVocabulary, type Vocabulary } from '../vocab/index.js';
import { BullQueue } from './bull-queue.js';
import { Converter } from './converter.js';
import { EmbeddedQueue } from './embedded-queue.js';
import type { JobQueue } from './job-queue.js';
import { JobStore } from './job-store.js';
import { registerInfoRoutes } from './routes-info.js';
import { registerConvertRoutes } from './routes-convert.js';
import { registerJobRoutes } from './routes-jobs.js';
import { registerMonaiRoutes } from './routes-monai.js';
import { registerBrowserEngineRoutes } from './routes-browser.js';
import { isViewerPath, registerViewerRoutes, viewerFiles } from './routes-viewer.js';
import { packageVersion } from './run-job.js';
import { HttpError } from './upload.js';
import { SERVICE_DEFAULTS } from './defaults.js';

export interface ServiceConfig {
  dataDir: string;
  modelDir: string;
  /** Worker processes of the embedded queue. */
  workers: number;
  /** Runs of one job before it is failed (crashes and interruptions count). */
  maxAttempts: number;
  /** Finished jobs are removed this many hours after they finish. */
  keepHours: number;
  maxUploadMb: number;
  /** Most files in one upload (DICOM series come as many files). */
  maxFiles: number;
  /** Most jobs waiting; beyond it POST answers 503 with Retry-After. */
  maxQueue: number;
  /** When set, every route but /healthz needs `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** BullMQ on this Redis instead of the embedded queue. */
  redisUrl?: string;
  /**
   * Origins whose pages may call the API (the web viewer hosted elsewhere, or opened from a file:
   * 'null'); '*' for any. Without it the browser allows only pages of the server itself.
   */
  corsOrigins?: string[];
  /** Fastify's request log (job ids and routes; never file names or patient data). */
  log?: boolean;
}

export const DEFAULT_CONFIG: Omit<ServiceConfig, 'dataDir' | 'modelDir'> = { workers: 1, ...SERVICE_DEFAULTS };

/** What the routes share. */
export interface ServiceContext {
  config: ServiceConfig;
  store: JobStore;
  queue: JobQueue;
  model: ModelPackage;
  vocabulary: Vocabulary;
  /** 'embedded' or 'redis', for /healthz and /metrics. */
  queueKind: 'embedded' | 'redis';
  /** POST /v1/convert's worker process. */
  converter: Converter;
}

export interface Service {
  app: FastifyInstance;
  context: ServiceContext;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 10 * 60_000;

export async function buildService(config: ServiceConfig): Promise<Service> {
  const store = new JobStore(config.dataDir);
  const model = loadModelPackage(config.modelDir);
  const jobQueue: JobQueue = config.redisUrl
    ? new BullQueue(store, { redisUrl: config.redisUrl, maxAttempts: config.maxAttempts, keepHours: config.keepHours })
    : new EmbeddedQueue(store, { workers: config.workers, modelDir: config.modelDir, maxAttempts: config.maxAttempts });
  const context: ServiceContext = {
    config,
    store,
    queue: jobQueue,
    model,
    vocabulary: loadVocabulary(),
    queueKind: config.redisUrl ? 'redis' : 'embedded',
    converter: new Converter(config.modelDir),
  };
  const app = Fastify({
    logger: config.log ? { level: 'info' } : false,
    // closing the server ends keep-alive and half-sent uploads too, instead of waiting for them
    forceCloseConnections: true,
    // multipart file fields are described as format: binary (OpenAPI); their value is the stored part's name
    ajv: { customOptions: { formats: { binary: true }, removeAdditional: false } },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'medparse',
        version: packageVersion(),
        description: 'Text-prompted parsing of 3D medical images: durable jobs over HTTP.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(config.apiKey ? { security: [{ bearer: [] }] } : {}),
    },
  });
  // before the API key check: a browser's preflight carries no key
  if (config.corsOrigins?.length)
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      exposedHeaders: ['location', 'retry-after', 'content-disposition'],
    });
  const viewer = viewerFiles();
  // the viewer's page and script hold no data: they load without the API key, its calls need it
  app.addHook('onRequest', (request, reply, done) =>
    isViewerPath(request.url, viewer) ? done() : authorize(config.apiKey, request, reply, done),
  );
  app.setErrorHandler((error: Error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } }),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerInfoRoutes(app, context);
  registerViewerRoutes(app, viewer);
  registerBrowserEngineRoutes(app, config.modelDir);
  await app.register(async (scope) => registerJobRoutes(scope, context));
  await app.register(async (scope) => registerMonaiRoutes(scope, context));
  await app.register(async (scope) => registerConvertRoutes(scope, context));

  await jobQueue.start();
  store.sweep(config.keepHours);
  const sweeper = setInterval(() => store.sweep(config.keepHours), SWEEP_INTERVAL_MS);
  sweeper.unref();
  return {
    app,
    context,
    close: async () => {
      clearInterval(sweeper);
      await app.close();
      await jobQueue.close();
      await context.converter.close();
    },
  };
}

function authorize(
  apiKey: string | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
  done: (error?: Error) => void,
): void {
  if (!apiKey || request.url === '/healthz') return done();
  const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
  const expected = Buffer.from(apiKey);
  const actual = Buffer.from(given);
  if (actual.length === expected.length && timingSafeEqual(actual, expected)) return done();
  reply
    .code(401)
    .header('www-authenticate', 'Bearer')
    .send({ error: { code: 'UNAUTHORIZED', message: 'this server needs "Authorization: Bearer <api key>"' } });
}

/** Every error as JSON { error: { code, message } } with its status; internals are logged, not sent. */
function sendError(error: FastifyError | HttpError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const status = (error as FastifyError).statusCode;
  // the rest of a refused upload is not read: close the connection instead of leaving it half-sent
  if (status === 413) reply.header('connection', 'close');
  if (error instanceof HttpError) {
    if (error.statusCode === 503) reply.header('retry-after', '30');
    reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } });
    return;
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    reply.code(400).send({ error: { code: 'INVALID_REQUEST', message: describeValidation(fastifyError) } });
    return;
  }
  if (status && status >= 400 && status < 500) {
    reply.code(status).send({ error: { code: fastifyError.code ?? 'BAD_REQUEST', message: error.message } });
    return;
  }
  request.log.error({ err: error }, 'internal error');
  reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } });
}

/** Schema errors in words a client can act on: which field, what is wrong, and the values allowed. */
function describeValidation(error: FastifyError): string {
  const where = error.validationContext ?? 'request';
  return (error.validation ?? [])
    .map((e) => {
      const field = e.instancePath ? e.instancePath.replace(/^\//, '').replace(/\//g, '.') : '';
      const missing = (e.params as { missingProperty?: string }).missingProperty;
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      if (missing) return `${where}: "${missing}" is required`;
      if (extra) return `${where}: unknown field "${extra}"`;
      const subject = field ? `${where} field "${field}"` : where;
      return `${subject} ${e.message ?? 'is invalid'}${allowed ? ` (one of: ${allowed.join(', ')})` : ''}`;
    })
    .join('; ');
}
