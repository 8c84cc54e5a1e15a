/**
 * POST /v1/convert: an upload (any image medparse reads, a DICOM .zip or the files of one series)
 * answered as NIfTI (.nii.gz) in its own geometry, for clients that cannot read DICOM themselves (the
 * web viewer shows a DICOM series with it). Nothing is kept: the upload goes once the answer is sent.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { readVolume } from '../io/read.js';
import { encodeNifti } from '../io/write-nifti.js';
import { acceptUploads } from './routes-jobs.js';
import { errorSchema } from './schemas.js';
import type { ServiceContext } from './server.js';

// off the event loop: a whole CT compresses for about a second, and other requests must not wait for it
const gzipAsync = promisify(gzip);
import { checkReadable, HttpError } from './upload.js';

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
      const volume = await readVolume(join(staging.jobDir, input.path), choice);
      const body = await gzipAsync(encodeNifti(volume), { level: 1 });
      return reply
        .type('application/gzip')
        .header('content-disposition', 'attachment; filename="image.nii.gz"')
        .send(body);
    },
  );
}
