/**
 * MONAI Label compatibility, so that 3D Slicer's MONAI Label module (and MONAI Label's Python
 * client) can use medparse as its server: GET /info/ describes the app with the model's concepts
 * as labels, and POST /infer/{model} takes the image in the "file" field (with "params" as a JSON
 * string) and answers as MONAI Label's server does: by default a multipart body with "params"
 * (JSON) and the label map; ?output=image the label map alone, ?output=json the params alone,
 * ?output=dicom_seg the DICOM SEG. It runs an ordinary job and waits for it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LabelTable } from '../io/label-table.js';
import { FINISHED_STATES, type JobRecord, type JobRequest } from './job-store.js';
import { acceptUploads, jobRequest, queueJob } from './routes-jobs.js';
import { SESSION_EXPIRY_S, SessionStore, type SessionRecord } from './session-store.js';
import { errorSchema } from './schemas.js';
import type { ServiceContext } from './server.js';
import { HttpError } from './upload.js';

const WAIT_POLL_MS = 200;

/** Error codes of the input itself: the client's request, not the server, is at fault. */
const INPUT_ERRORS = new Set([
  'FILE_NOT_FOUND',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_FILE',
  'TRUNCATED_FILE',
  'UNSUPPORTED_DATATYPE',
  'INVALID_DIMENSIONS',
  'MULTIPLE_VOLUMES',
  'MULTIPLE_SERIES',
  'EMPTY_INPUT',
  'INVALID_ARGUMENT',
]);

interface InferParams {
  prompts?: string | string[];
  modality?: 'CT' | 'MR';
}

/** The labels of the model: every concept it answers, by name, numbered in model order. */
function modelLabels(context: ServiceContext): Record<string, number> {
  const labels: Record<string, number> = {};
  for (const network of context.model.networks)
    for (const concept of network.concepts) {
      if (concept.withheld) continue;
      const name = context.vocabulary.require(concept.id).name;
      if (!(name in labels)) labels[name] = Object.keys(labels).length + 1;
    }
  return labels;
}

export async function registerMonaiRoutes(scope: FastifyInstance, context: ServiceContext): Promise<void> {
  scope.get(
    '/info/',
    {
      schema: {
        summary: 'MONAI Label: the app, its models and labels',
        tags: ['MONAI Label'],
        response: {
          200: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              description: { type: 'string' },
              version: { type: 'string' },
              labels: { type: 'array', items: { type: 'string' } },
              models: { type: 'object', additionalProperties: true },
              trainers: { type: 'object', additionalProperties: true },
              strategies: { type: 'object', additionalProperties: true },
              scoring: { type: 'object', additionalProperties: true },
              train_stats: { type: 'object', additionalProperties: true },
              datastore: { type: 'object', additionalProperties: true },
            },
          },
        },
      },
    },
    async () => {
      const labels = modelLabels(context);
      const model = context.model;
      return {
        name: 'medparse',
        description: 'Text-prompted parsing of 3D CT and MR: one label per concept the model answers',
        version: model.version,
        labels: Object.keys(labels),
        models: {
          [model.name]: {
            type: 'segmentation',
            labels,
            dimension: 3,
            description: `${model.name} ${model.version}: every concept it answers for the image's modality; params.prompts limits it to the concepts named`,
            config: { prompts: '', modality: '' },
          },
        },
        trainers: {},
        strategies: {},
        scoring: {},
        train_stats: {},
        datastore: { total: 0, completed: 0 },
      };
    },
  );

  const sessions = new SessionStore(context.config.dataDir);
  await scope.register(async (uploads) => registerSessionRoutes(uploads, context, sessions));

  await scope.register(async (uploads) => {
    await acceptUploads(uploads, context);
    uploads.post<{
      Params: { model: string };
      Querystring: { output?: string; image?: string; session_id?: string };
      Body: { params?: string };
    }>(
      '/infer/:model',
      {
        schema: {
          summary: 'MONAI Label: run inference on the uploaded image and wait for the label map',
          tags: ['MONAI Label'],
          consumes: ['multipart/form-data'],
          params: { type: 'object', required: ['model'], properties: { model: { type: 'string' } } },
          querystring: {
            type: 'object',
            properties: {
              output: { type: 'string', enum: ['image', 'json', 'all', 'dicom_seg'] },
              image: { type: 'string', description: 'a datastore image id: medparse has no datastore, send "file"' },
              session_id: { type: 'string', description: 'the image of a session (PUT /session/) instead of "file"' },
            },
          },
          body: {
            type: 'object',
            properties: {
              file: { type: 'array', items: { type: 'string', format: 'binary' } },
              params: { type: 'string', description: 'JSON: {"prompts": "liver, spleen", "modality": "CT"}' },
            },
          },
          response: {
            200: {
              description: 'multipart (params + image), the label map, the params JSON, or the DICOM SEG',
              content: {
                'multipart/form-data': { schema: { type: 'object', additionalProperties: true } },
                'application/gzip': { schema: { type: 'string', format: 'binary' } },
                'application/json': { schema: { type: 'object', additionalProperties: true } },
                'application/dicom': { schema: { type: 'string', format: 'binary' } },
              },
            },
            400: errorSchema,
            404: errorSchema,
            500: errorSchema,
          },
        },
      },
      async (request, reply) => {
        if (request.params.model !== context.model.name)
          throw new HttpError(
            404,
            'NO_SUCH_MODEL',
            `no model "${request.params.model}"; this server runs "${context.model.name}"`,
          );
        const params = parseParams(request.body?.params);
        const prompts = Array.isArray(params.prompts) ? params.prompts.join(', ') : params.prompts;
        const job = jobRequest({
          task: prompts ? 'segment' : 'recognize',
          ...(prompts ? { prompts } : {}),
          ...(params.modality ? { modality: params.modality } : {}),
        });
        const record = request.staging
          ? await queueJob(context, request, request.staging.jobId, job, request.staging.arrange())
          : await jobFromSession(context, sessions, request, request.query.session_id, job);
        const finished = await waitForJob(context, record.id, reply.raw);
        if (finished.state !== 'done') {
          const error = finished.error ?? { code: 'CANCELLED', message: 'the job was cancelled' };
          throw new HttpError(INPUT_ERRORS.has(error.code) ? 400 : 500, error.code, error.message);
        }
        const output = join(context.store.outputDir(record.id), '');
        const resultParams = inferParams(output, record.id);
        const mode = request.query.output ?? 'all';
        if (mode === 'json') return resultParams;
        if (mode === 'dicom_seg') {
          if (!resultParams.files.dicom_seg)
            throw new HttpError(
              404,
              'NO_DICOM_SEG',
              'no structure was found, so there is no DICOM SEG; see output=json',
            );
          return reply.type('application/dicom').send(readFileSync(join(output, resultParams.files.dicom_seg)));
        }
        const labels = readFileSync(join(output, 'labels.nii.gz'));
        if (mode === 'image')
          return reply
            .type('application/gzip')
            .header('content-disposition', 'attachment; filename="labels.nii.gz"')
            .send(labels);
        const { body, contentType } = multipartResponse(resultParams, labels);
        return reply.type(contentType).send(body);
      },
    );
  });
}

const sessionSchema = {
  type: 'object',
  properties: {
    session_id: { type: 'string' },
    session_info: {
      type: 'object',
      properties: {
        created: { type: 'string' },
        last_used: { type: 'string' },
        expiry: { type: 'integer', description: 'seconds after its last use' },
        files: { type: 'integer' },
        bytes: { type: 'integer' },
      },
    },
  },
} as const;

function sessionView(record: SessionRecord) {
  return {
    session_id: record.id,
    session_info: {
      created: record.createdAt,
      last_used: record.lastUsedAt,
      expiry: SESSION_EXPIRY_S,
      files: record.input.files,
      bytes: record.input.bytes,
    },
  };
}

/** PUT /session/ (the image in "files"), GET and DELETE /session/{id}: what Slicer uses for a volume it shows. */
async function registerSessionRoutes(scope: FastifyInstance, context: ServiceContext, sessions: SessionStore) {
  await acceptUploads(scope, context, {
    field: 'files',
    reserve: () => sessions.reserve(),
    kept: (id) => sessions.read(id) !== undefined,
    discard: (id) => sessions.remove(id),
  });
  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const;
  scope.put(
    '/session/',
    {
      schema: {
        summary: 'MONAI Label: upload an image once, for inference by session_id',
        tags: ['MONAI Label'],
        consumes: ['multipart/form-data'],
        body: {
          type: 'object',
          required: ['files'],
          properties: {
            files: { type: 'array', items: { type: 'string', format: 'binary' } },
            params: { type: 'string' },
          },
        },
        response: { 200: sessionSchema, 400: errorSchema, 413: errorSchema },
      },
    },
    async (request) => {
      const staging = request.staging;
      if (!staging) throw new HttpError(400, 'NO_FILE', 'the upload holds no file: send the image in "files"');
      sessions.sweep();
      return sessionView(await sessions.create(staging.jobId, staging.arrange()));
    },
  );
  scope.get<{ Params: { id: string } }>(
    '/session/:id',
    {
      schema: {
        summary: 'MONAI Label: a session',
        tags: ['MONAI Label'],
        params: idParams,
        response: { 200: sessionSchema, 404: errorSchema },
      },
    },
    async (request) => sessionView(requireSession(sessions, request.params.id)),
  );
  scope.delete<{ Params: { id: string } }>(
    '/session/:id',
    {
      schema: {
        summary: 'MONAI Label: remove a session',
        tags: ['MONAI Label'],
        params: idParams,
        response: { 200: sessionSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const view = sessionView(requireSession(sessions, request.params.id));
      sessions.remove(request.params.id);
      return view;
    },
  );
}

function requireSession(sessions: SessionStore, id: string): SessionRecord {
  const record = sessions.read(id);
  if (!record)
    throw new HttpError(
      404,
      'NO_SUCH_SESSION',
      `no session ${id} (sessions expire ${SESSION_EXPIRY_S} s after their last use)`,
    );
  return record;
}

/** A job on a copy of a session's image (the session stays for the next inference). */
async function jobFromSession(
  context: ServiceContext,
  sessions: SessionStore,
  request: FastifyRequest,
  sessionId: string | undefined,
  job: JobRequest,
): Promise<JobRecord> {
  if (!sessionId)
    throw new HttpError(
      400,
      'NO_IMAGE',
      'medparse keeps no datastore: send the image in "file", or upload it with PUT /session/ and pass session_id',
    );
  requireSession(sessions, sessionId);
  const { id, dir } = context.store.reserve();
  try {
    const input = await sessions.copyInto(sessionId, dir);
    return await queueJob(context, request, id, job, input);
  } catch (error) {
    if (!context.store.read(id)) context.store.remove(id);
    throw error;
  }
}

function parseParams(text: string | undefined): InferParams {
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'INVALID_PARAMS', 'params must be a JSON object, e.g. {"prompts": "liver, spleen"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new HttpError(400, 'INVALID_PARAMS', 'params must be a JSON object, e.g. {"prompts": "liver, spleen"}');
  const { prompts, modality } = parsed as Record<string, unknown>;
  const promptsOk =
    prompts === undefined ||
    typeof prompts === 'string' ||
    (Array.isArray(prompts) && prompts.every((p) => typeof p === 'string'));
  if (!promptsOk) throw new HttpError(400, 'INVALID_PARAMS', 'params.prompts must be a string or a list of strings');
  if (modality !== undefined && modality !== 'CT' && modality !== 'MR')
    throw new HttpError(400, 'INVALID_PARAMS', `params.modality must be CT or MR, got ${JSON.stringify(modality)}`);
  return { prompts: prompts as InferParams['prompts'], modality: modality as InferParams['modality'] };
}

/** Waits for the job; a client that hangs up cancels it (nobody is left to take the answer). */
async function waitForJob(context: ServiceContext, id: string, response: ServerResponse): Promise<JobRecord> {
  let gone = false;
  // the response closes before it is written only when the client hangs up
  const onClose = () => {
    gone = !response.writableFinished;
  };
  response.on('close', onClose);
  try {
    for (;;) {
      const record = context.store.read(id);
      if (!record) throw new HttpError(404, 'NO_SUCH_JOB', `job ${id} was removed while it ran`);
      if (FINISHED_STATES.includes(record.state)) return record;
      if (gone) {
        await context.store.cancel(id);
        await context.queue.cancel(id);
      }
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    }
  } finally {
    response.off('close', onClose);
  }
}

/** MONAI Label's params: label names to values, timings, and where the full results lie. */
function inferParams(outputDir: string, jobId: string) {
  const table = JSON.parse(readFileSync(join(outputDir, 'labels.json'), 'utf8')) as LabelTable;
  const report = JSON.parse(readFileSync(join(outputDir, 'report.json'), 'utf8')) as {
    files: Record<string, string>;
    timings_ms?: Record<string, number>;
  };
  return {
    label_names: Object.fromEntries(table.labels.map((l) => [l.name, l.value])),
    latencies: Object.fromEntries(Object.entries(report.timings_ms ?? {}).map(([k, v]) => [k, v / 1000])),
    files: report.files,
    medparse_job: `/v1/jobs/${jobId}`,
  };
}

function multipartResponse(params: object, labels: Buffer): { body: Buffer; contentType: string } {
  const boundary = `medparse-${randomBytes(12).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="params"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(params)}\r\n`,
    ),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="labels.nii.gz"\r\nContent-Type: application/gzip\r\n\r\n`,
    ),
    labels,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
