/**
 * POST /v1/convert: an upload (any image medparse reads, a DICOM .zip or the files of one series)
 * answered as NIfTI (.nii.gz) in its own geometry, for clients that cannot read DICOM themselves (the
 * web viewer shows a DICOM series with it). Nothing is kept: the upload goes once the answer is sent.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { acceptUploads } from './routes-jobs.js';
import { CONVERTED_FILE } from './run-job.js';
import { errorSchema } from './schemas.js';
import type { ServiceContext } from './server.js';
import { checkReadable, HttpError } from './upload.js';
import type { PoolOutcome } from './worker-pool.js';

interface ConvertBody {
  series?: string;
  volume?: number;
}

export async function registerConvertRoutes(scope: FastifyInstance, context: ServiceContext): Promise<void> {
  const root = join(context.config.dataDir, 'convert');
  await acceptUploads(scope, context, {
    field: 'file',
    reserve: () => {
      const id = randomUUID();
      mkdirSync(join(root, id, 'input'), { recursive: true });
      return { id, dir: join(root, id) };
    },
    kept: () => false,
    discard: (id) => rmSync(join(root, id), { recursive: true, force: true }),
  });
  scope.post<{ Body: ConvertBody }>(
    '/v1/convert',
    {
      schema: {
        summary: 'An image (a DICOM .zip or series too) as NIfTI .nii.gz, in its own geometry',
        consumes: ['multipart/form-data'],
        body: {
          type: 'object',
          required: ['file'],
          additionalProperties: false,
          properties: {
            file: { type: 'array', items: { type: 'string', format: 'binary' } },
            series: { type: 'string', pattern: '^[0-9.]+(,[0-9.]+)*$', maxLength: 1024 },
            volume: { type: 'integer', minimum: 0 },
          },
        },
        response: {
          200: {
            description: 'the image as NIfTI (gzip)',
            content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } } },
          },
          400: errorSchema,
          413: errorSchema,
          500: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const staging = request.staging;
      if (!staging) throw new HttpError(400, 'NO_FILE', 'the upload holds no file: send the image in the "file" field');
      const input = staging.arrange();
      const choice = { series: request.body.series, volume: request.body.volume };
      // the readers' header checks first: a bad upload is a 400 with their message, before any voxel
      await checkReadable(staging.jobDir, input, choice);
      // the voxels are read, encoded and compressed in the conversion worker: the event loop stays free
      const outcome = await context.converter.convert({ jobId: staging.jobId, jobDir: staging.jobDir, input, choice });
      if (outcome.kind !== 'done') throw conversionError(outcome);
      const body = await readFile(join(staging.jobDir, CONVERTED_FILE));
      return reply
        .type('application/gzip')
        .header('content-disposition', 'attachment; filename="image.nii.gz"')
        .send(body);
    },
  );
}

/** The worker's failure as the answer: the upload's own problem is a 400 with the reader's message. */
function conversionError(outcome: Exclude<PoolOutcome, { kind: 'done' }>): Error {
  if (outcome.kind === 'failed')
    return outcome.retryable
      ? new Error(`conversion failed: ${outcome.error.message}`)
      : new HttpError(400, outcome.error.code, outcome.error.message);
  const reason = outcome.kind === 'crashed' ? outcome.reason : 'killed';
  return new HttpError(
    500,
    'CONVERSION_CRASHED',
    `the conversion's worker process ended (${reason}): the image may be too large for this server's memory`,
  );
}
