/** /v1/jobs: submit an image, follow the job, fetch its results, cancel or remove it. */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FINISHED_STATES, type JobInput, type JobRecord, type JobRequest } from './job-store.js';
import { contentTypeOf, jobUrl, jobView, reportedFiles } from './job-view.js';
import {
  errorSchema,
  jobIdParams,
  jobListQuery,
  jobListSchema,
  jobSchema,
  submitBodySchema,
  submittedSchema,
} from './schemas.js';
import type { ServiceContext } from './server.js';
import { checkReadable, HttpError, UploadStaging } from './upload.js';

/** Server-Sent Events: how often a job's state is looked at, and a keep-alive comment for proxies. */
const EVENTS_POLL_MS = 200;
const EVENTS_KEEPALIVE_MS = 15_000;

export interface SubmitBody {
  task: JobRequest['task'];
  prompts?: string;
  modality?: 'CT' | 'MR';
  series?: string;
  volume?: number;
  experimental?: boolean;
  keep_islands?: boolean;
  dicom_seg?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    staging: UploadStaging | null;
  }
}

/** Where an upload of a route goes: a job folder, or a MONAI Label session. */
export interface UploadTarget {
  /** The multipart field that holds the files. */
  field: string;
  /** A fresh folder with an empty input/ for the upload. */
  reserve(): { id: string; dir: string };
  /** Whether the upload became what it was for (else its folder is removed after the response). */
  kept(id: string): boolean;
  discard(id: string): void;
}

export function jobUploads(context: ServiceContext): UploadTarget {
  const { store } = context;
  return {
    field: 'file',
    reserve: () => store.reserve(),
    kept: (id) => store.read(id) !== undefined,
    discard: (id) => store.remove(id),
  };
}

/**
 * Multipart parsing for the routes of `scope` that take uploads: files stream to a folder reserved
 * on the first file, the other fields become the body that the route's schema validates. An upload
 * that does not become a job (or session) leaves nothing behind.
 */
export async function acceptUploads(
  scope: FastifyInstance,
  context: ServiceContext,
  target: UploadTarget = jobUploads(context),
): Promise<void> {
  const { config } = context;
  const maxBytes = config.maxUploadMb * 2 ** 20;
  scope.decorateRequest('staging', null);
  await scope.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: {
      fileSize: maxBytes,
      files: config.maxFiles,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: config.maxFiles + 20,
    },
    onFile: async function (this: FastifyRequest, part: MultipartFile) {
      if (part.fieldname !== target.field) {
        part.file.resume();
        throw new HttpError(400, 'UNEXPECTED_FILE', `files go in the "${target.field}" field, not "${part.fieldname}"`);
      }
      if (!this.staging) {
        const { id, dir } = target.reserve();
        this.staging = new UploadStaging(id, dir, maxBytes);
      }
      (part as MultipartFile & { value: string }).value = await this.staging.accept(part.file, part.filename);
    },
  });
  scope.addHook('onRequest', async () => {
    if ((await context.queue.depth()) >= config.maxQueue)
      throw new HttpError(503, 'QUEUE_FULL', `${config.maxQueue} jobs are waiting (--max-queue); try again later`);
  });
  scope.addHook('onResponse', async (request) => {
    if (request.staging && !target.kept(request.staging.jobId)) target.discard(request.staging.jobId);
  });
}

/** The job a request asks for, after the checks the schema cannot make (prompts by task). */
export function jobRequest(body: SubmitBody): JobRequest {
  const prompts = body.prompts?.trim();
  if (body.task !== 'recognize' && !prompts)
    throw new HttpError(400, 'MISSING_PROMPTS', `${body.task} needs prompts: prompts="liver, spleen"`);
  if (body.task === 'recognize' && prompts)
    throw new HttpError(
      400,
      'UNEXPECTED_PROMPTS',
      'recognize looks for everything the model knows and takes no prompts: use task=segment',
    );
  return {
    task: body.task,
    ...(prompts ? { prompts } : {}),
    ...(body.modality ? { modality: body.modality } : {}),
    ...(body.series ? { series: body.series } : {}),
    ...(body.volume !== undefined ? { volume: body.volume } : {}),
    experimental: body.experimental ?? false,
    keepIslands: body.keep_islands ?? false,
    dicomSeg: body.dicom_seg ?? false,
  };
}

/** Writes the job of an upload and queues it, once the readers' header checks accept the upload. */
export async function submitJob(
  context: ServiceContext,
  request: FastifyRequest,
  body: SubmitBody,
): Promise<JobRecord> {
  const staging = request.staging;
  if (!staging) throw new HttpError(400, 'NO_FILE', 'the upload holds no file: send the image in the "file" field');
  const job = jobRequest(body);
  const input = staging.arrange();
  await checkReadable(staging.jobDir, input, job);
  return queueJob(context, request, staging.jobId, job, input);
}

export async function queueJob(
  context: ServiceContext,
  request: FastifyRequest,
  id: string,
  job: JobRequest,
  input: JobInput,
): Promise<JobRecord> {
  const record = await context.store.create(id, job, input);
  await context.queue.enqueue(record.id);
  request.log.info({ job: record.id, files: input.files, bytes: input.bytes }, 'job queued');
  return record;
}

export async function registerJobRoutes(scope: FastifyInstance, context: ServiceContext): Promise<void> {
  const { store } = context;

  await scope.register(async (uploads) => {
    await acceptUploads(uploads, context);
    uploads.post<{ Body: SubmitBody }>(
      '/v1/jobs',
      {
        schema: {
          summary: 'Submit an image to parse',
          description:
            'multipart/form-data: the image in "file" (several "file" fields for the DICOM files of one series) and the CLI\'s options as fields. Answers at once; the job runs in a worker.',
          consumes: ['multipart/form-data'],
          body: submitBodySchema,
          response: { 202: submittedSchema, 400: errorSchema, 413: errorSchema, 503: errorSchema },
        },
      },
      async (request, reply) => {
        const record = await submitJob(context, request, request.body);
        const url = jobUrl(record.id);
        return reply.code(202).header('location', url).send({ id: record.id, url, state: record.state });
      },
    );
  });

  scope.get<{ Querystring: { limit: number; offset: number; state?: JobRecord['state'] } }>(
    '/v1/jobs',
    {
      schema: {
        summary: 'List jobs, newest first',
        querystring: jobListQuery,
        response: { 200: jobListSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const { limit, offset, state } = request.query;
      const all = store.list().filter((r) => !state || r.state === state);
      const page = all.slice(offset, offset + limit);
      const more = offset + limit < all.length;
      const filter = state ? `&state=${state}` : '';
      return {
        jobs: page.map((r) => jobView(r)),
        total: all.length,
        limit,
        offset,
        next: more ? `/v1/jobs?limit=${limit}&offset=${offset + limit}${filter}` : null,
      };
    },
  );

  scope.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'A job: state, stage, fraction done, timestamps, error',
        params: jobIdParams,
        response: { 200: jobSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const record = requireJob(context, request.params.id);
      return jobView(record, record.state === 'done' ? reportedFiles(store.outputDir(record.id)) : []);
    },
  );

  scope.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/events',
    {
      schema: {
        summary: 'Progress as Server-Sent Events',
        description:
          'event "progress" with {state, stage, fraction, message} on every change (the stages the CLI prints), then one event named after the final state (done, failed, cancelled) with the job, and the stream ends.',
        params: jobIdParams,
        response: {
          200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          404: errorSchema,
        },
      },
    },
    async (request, reply) => streamEvents(context, requireJob(context, request.params.id).id, request, reply),
  );

  scope.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/report',
    {
      schema: {
        summary: "The job's report.json",
        params: jobIdParams,
        response: {
          200: { description: 'report.json as the CLI writes it', type: 'object', additionalProperties: true },
          404: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const record = requireFinishedJob(context, request.params.id);
      return reply.type('application/json').send(createReadStream(join(store.outputDir(record.id), 'report.json')));
    },
  );

  scope.get<{ Params: { id: string; name: string } }>(
    '/v1/jobs/:id/files/:name',
    {
      schema: {
        summary: 'One file of the results (only names the report lists)',
        params: {
          type: 'object',
          required: ['id', 'name'],
          properties: { ...jobIdParams.properties, name: { type: 'string', maxLength: 255 } },
        },
        response: {
          200: {
            description: 'the file',
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          404: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const record = requireFinishedJob(context, request.params.id);
      const name = request.params.name;
      const listed = reportedFiles(store.outputDir(record.id));
      if (!listed.includes(name))
        throw new HttpError(
          404,
          'NO_SUCH_FILE',
          `the job's report lists no file "${name}"; it lists ${listed.join(', ')}`,
        );
      return reply
        .type(contentTypeOf(name))
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(createReadStream(join(store.outputDir(record.id), name)));
    },
  );

  scope.post<{ Params: { id: string } }>(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a queued or running job; never removes anything',
        description:
          'A queued or running job is cancelled (200 with the job; also for a job already cancelled). A job that finished first (done or failed) is left as it is, its results kept: 409 ALREADY_FINISHED naming its state. Safe to send when the job may be finishing.',
        params: jobIdParams,
        response: { 200: jobSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => {
      const record = await cancelJob(context, request.params.id);
      if (record.state !== 'cancelled') {
        const kept = record.state === 'done' ? '; its results are kept' : '';
        throw new HttpError(
          409,
          'ALREADY_FINISHED',
          `job ${record.id} already ended ${record.state}: nothing to cancel${kept}`,
        );
      }
      request.log.info({ job: record.id }, 'job cancelled');
      return jobView(record);
    },
  );

  scope.delete<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'Cancel a queued or running job, or remove a finished one',
        description:
          'A queued or running job is cancelled (200 with the job); a finished job is removed with its files (204). To cancel without the risk of removing results of a job that is just finishing, POST /v1/jobs/{id}/cancel.',
        params: jobIdParams,
        response: { 200: jobSchema, 204: { type: 'null', description: 'removed' }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const record = requireJob(context, request.params.id);
      if (FINISHED_STATES.includes(record.state)) {
        store.remove(record.id);
        request.log.info({ job: record.id }, 'job removed');
        return reply.code(204).send();
      }
      const cancelled = await cancelJob(context, record.id);
      request.log.info({ job: record.id }, 'job cancelled');
      return jobView(cancelled);
    },
  );
}

/** Cancels the job unless it has finished; answers the job as it then stands. */
async function cancelJob(context: ServiceContext, id: string): Promise<JobRecord> {
  const record = (await context.store.cancel(id)) ?? requireJob(context, id);
  if (record.state === 'cancelled') await context.queue.cancel(id);
  return record;
}

export function requireJob(context: ServiceContext, id: string): JobRecord {
  const record = context.store.read(id);
  if (!record)
    throw new HttpError(404, 'NO_SUCH_JOB', `no job ${id} (finished jobs are kept ${context.config.keepHours} h)`);
  return record;
}

function requireFinishedJob(context: ServiceContext, id: string): JobRecord {
  const record = requireJob(context, id);
  if (record.state === 'done') return record;
  if (record.state === 'queued' || record.state === 'running')
    throw new HttpError(409, 'NOT_DONE', `job ${id} is ${record.state}; its results exist once it is done`);
  throw new HttpError(409, 'NO_RESULTS', `job ${id} is ${record.state} and has no results`);
}

/** Follows job.json (written by whichever worker runs the job, here or elsewhere) and streams its changes. */
function streamEvents(context: ServiceContext, id: string, request: FastifyRequest, reply: FastifyReply): void {
  reply.hijack();
  const out = reply.raw;
  // headers hooks already set (CORS): hijacking the reply would drop them
  const set = Object.entries(reply.getHeaders()).filter(
    (entry): entry is [string, string | number | string[]] => entry[1] !== undefined,
  );
  out.writeHead(200, {
    ...Object.fromEntries(set),
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let last = '';
  const finish = () => {
    clearInterval(poll);
    clearInterval(keepAlive);
    out.end();
  };
  const look = () => {
    const record = context.store.read(id);
    if (!record) {
      out.write(`event: gone\ndata: ${JSON.stringify({ id })}\n\n`);
      return finish();
    }
    const progress = JSON.stringify({
      state: record.state,
      stage: record.stage,
      fraction: record.fraction,
      message: record.message,
    });
    if (progress !== last) {
      last = progress;
      out.write(`event: progress\ndata: ${progress}\n\n`);
    }
    if (FINISHED_STATES.includes(record.state)) {
      const files = record.state === 'done' ? reportedFiles(context.store.outputDir(id)) : [];
      out.write(`event: ${record.state}\ndata: ${JSON.stringify(jobView(record, files))}\n\n`);
      finish();
    }
  };
  const poll = setInterval(look, EVENTS_POLL_MS);
  const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), EVENTS_KEEPALIVE_MS);
  request.raw.on('close', () => {
    clearInterval(poll);
    clearInterval(keepAlive);
  });
  look();
}
