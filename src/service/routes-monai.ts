/**
 * MONAI Label compatibility, so that 3D Slicer's MONAI Label module (and MONAI Label's Python
 * client) can use medparse as its server: GET /info/ describes the app with the model's concepts
 * as labels, and POST /infer/{model} takes the image in the "file" field, a session's image
 * (session_id) or a datastore image (image=ID), with "params" as a JSON string, and answers as MONAI
 * Label's server does: by default a multipart body with "params" (JSON) and the label map;
 * ?output=image the label map alone, ?output=json the params alone, ?output=dicom_seg the DICOM
 * SEG. It runs an ordinary job and waits for it. Sessions and the datastore: routes-monai-uploads.ts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readLabelTable } from '../io/label-table.js';
import { readReport } from '../tasks/report.js';
import { FINISHED_STATES, type JobRecord, type JobRequest } from './job-store.js';
import { acceptUploads, jobRequest, queueJob } from './routes-jobs.js';
import {
  datastoreStats,
  jobFromKeptUpload,
  openMonaiUploads,
  registerDatastoreRoutes,
  registerSessionRoutes,
} from './routes-monai-uploads.js';
import { errorSchema } from './schemas.js';
import type { ServiceContext } from './server.js';
import { checkReadable, HttpError } from './upload.js';

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

/** Values of params.modality that leave the modality to the file (Slicer sends the config's '' as is). */
const AUTO_MODALITY = ['', 'auto'];

export async function registerMonaiRoutes(scope: FastifyInstance, context: ServiceContext): Promise<void> {
  const uploads = openMonaiUploads(context);
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
            // Slicer shows these in its options table: a string to edit, a list as a choice (first = chosen)
            config: { prompts: '', modality: ['auto', 'CT', 'MR'] },
          },
        },
        trainers: {},
        strategies: {},
        scoring: {},
        train_stats: {},
        datastore: datastoreStats(uploads.datastore),
      };
    },
  );

  await scope.register(async (sessionScope) => registerSessionRoutes(sessionScope, context, uploads));
  await scope.register(async (datastoreScope) => registerDatastoreRoutes(datastoreScope, context, uploads));

  await scope.register(async (inferScope) => {
    await acceptUploads(inferScope, context);
    inferScope.post<{
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
              image: {
                type: 'string',
                description: 'a datastore image id (PUT /datastore/?image=ID), used without "file"',
              },
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
          ? await queueUpload(context, request, job)
          : await jobFromKeptUpload(context, uploads, request, request.query, job);
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

/** An inference's own upload becomes a job once the readers' header checks accept it. */
async function queueUpload(context: ServiceContext, request: FastifyRequest, job: JobRequest): Promise<JobRecord> {
  const staging = request.staging;
  if (!staging) throw new HttpError(400, 'NO_FILE', 'the upload holds no file: send the image in "file"');
  const input = staging.arrange();
  await checkReadable(staging.jobDir, input);
  return queueJob(context, request, staging.jobId, job, input);
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
  if (modality === undefined || (typeof modality === 'string' && AUTO_MODALITY.includes(modality)))
    return { prompts: prompts as InferParams['prompts'] };
  if (modality !== 'CT' && modality !== 'MR')
    throw new HttpError(
      400,
      'INVALID_PARAMS',
      `params.modality must be CT, MR or auto (from the file), got ${JSON.stringify(modality)}`,
    );
  return { prompts: prompts as InferParams['prompts'], modality };
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

/**
 * MONAI Label's params: label names to values, timings, and where the full results lie. Slicer
 * imports the label map by position (the n-th name of label_names sorted by value gets value n), so
 * every label of the table is listed, drawn or not, and the values run 1..N as the label map's do.
 */
function inferParams(outputDir: string, jobId: string) {
  const table = readLabelTable(join(outputDir, 'labels.json'));
  const report = readReport(outputDir);
  return {
    label_names: Object.fromEntries(table.labels.map((l) => [l.name, l.value])),
    latencies: Object.fromEntries(Object.entries(report.timings_ms).map(([k, v]) => [k, v / 1000])),
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
