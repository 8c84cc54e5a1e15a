/**
 * MONAI Label's two ways to send an image once and infer on it later, as 3D Slicer's module uses
 * them: sessions (PUT /session/ with the image in "files"; /infer/{model}?session_id=...) for a
 * volume it shows, and the datastore (PUT /datastore/?image=ID with the image in "file";
 * /infer/{model}?image=ID) behind its "upload image" button. medparse's datastore holds uploads
 * only: no labels, no training.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JobRecord, JobRequest } from './job-store.js';
import { acceptUploads, queueJob } from './routes-jobs.js';
import { errorSchema } from './schemas.js';
import type { ServiceContext } from './server.js';
import { SESSION_EXPIRY_S, SessionStore, type SessionRecord } from './session-store.js';
import { checkReadable, HttpError } from './upload.js';

export interface MonaiUploads {
  sessions: SessionStore;
  datastore: SessionStore;
}

export function openMonaiUploads(context: ServiceContext): MonaiUploads {
  const { dataDir, keepHours } = context.config;
  return {
    sessions: new SessionStore(dataDir, { folder: 'sessions', expiryS: SESSION_EXPIRY_S }),
    datastore: new SessionStore(dataDir, { folder: 'datastore', expiryS: keepHours * 3600 }),
  };
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
export async function registerSessionRoutes(scope: FastifyInstance, context: ServiceContext, uploads: MonaiUploads) {
  const { sessions } = uploads;
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
      const input = staging.arrange();
      await checkReadable(staging.jobDir, input);
      sessions.sweep();
      return sessionView(await sessions.create(staging.jobId, input));
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

const imageIdSchema = { type: 'string', minLength: 1, maxLength: 255 } as const;

/** The extension of an upload's stored file ('' for a DICOM folder). */
function storedExtension(record: SessionRecord): string {
  return /^input\/image(\..+)$/.exec(record.input.path)?.[1] ?? '';
}

/** The datastore in MONAI Label's LocalDatastore shape: objects by image id, no labels. */
function datastoreView(datastore: SessionStore) {
  const objects: Record<string, { image: { ext: string; info: { ts: number; name: string } }; labels: object }> = {};
  for (const record of datastore.list().reverse()) {
    const name = record.name ?? record.id;
    const ext = storedExtension(record);
    objects[name] = {
      image: { ext, info: { ts: Math.floor(Date.parse(record.createdAt) / 1000), name: name + ext } },
      labels: {},
    };
  }
  return {
    name: 'medparse',
    description: `images uploaded for inference (kept ${Math.round(datastore.expiryS / 3600)} h after their last use)`,
    images_dir: '',
    labels_dir: '',
    objects,
  };
}

/** MONAI Label's datastore statistics (GET /datastore/ and /info/'s "datastore"). */
export function datastoreStats(datastore: SessionStore) {
  return { total: datastore.list().length, completed: 0, label_tags: [], train: [] };
}

/** PUT, GET and DELETE /datastore/ and GET /datastore/image: the uploads of Slicer's "upload image". */
export async function registerDatastoreRoutes(scope: FastifyInstance, context: ServiceContext, uploads: MonaiUploads) {
  const { datastore } = uploads;
  await scope.register(async (uploadScope) => registerDatastoreUpload(uploadScope, context, datastore));
  scope.get<{ Querystring: { output?: 'stats' | 'all' | 'train' } }>(
    '/datastore/',
    {
      schema: {
        summary: 'MONAI Label: the datastore (output=stats, all or train)',
        tags: ['MONAI Label'],
        querystring: { type: 'object', properties: { output: { type: 'string', enum: ['stats', 'all', 'train'] } } },
        response: {
          200: {
            description: 'stats, the whole datastore (LocalDatastore shape), or the training list (empty)',
            content: { 'application/json': { schema: { type: ['object', 'array'] } } },
          },
        },
      },
    },
    async (request, reply) => {
      const output = request.query.output ?? 'stats';
      const body = output === 'all' ? datastoreView(datastore) : output === 'train' ? [] : datastoreStats(datastore);
      return reply.type('application/json').send(JSON.stringify(body));
    },
  );
  scope.get<{ Querystring: { image: string } }>(
    '/datastore/image',
    {
      schema: {
        summary: 'MONAI Label: download a datastore image',
        tags: ['MONAI Label'],
        querystring: { type: 'object', required: ['image'], properties: { image: imageIdSchema } },
        response: {
          200: {
            description: 'the image as uploaded',
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          404: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const record = requireDatastoreImage(datastore, request.query.image);
      const ext = storedExtension(record);
      if (!ext)
        throw new HttpError(
          409,
          'NOT_ONE_FILE',
          'this image was uploaded as DICOM files; it is served as one file only when it was one',
        );
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename="image${ext}"`)
        .send(createReadStream(join(datastore.dirOf(record.id), record.input.path)));
    },
  );
  scope.delete<{ Querystring: { id: string; type?: 'image' | 'label' | 'label_tag' } }>(
    '/datastore/',
    {
      schema: {
        summary: 'MONAI Label: remove a datastore image',
        tags: ['MONAI Label'],
        querystring: {
          type: 'object',
          required: ['id'],
          properties: { id: imageIdSchema, type: { type: 'string', enum: ['image', 'label', 'label_tag'] } },
        },
        response: { 200: { type: 'object' }, 404: errorSchema },
      },
    },
    async (request) => {
      if (request.query.type && request.query.type !== 'image')
        throw new HttpError(404, 'NO_LABELS', 'medparse keeps no labels in its datastore, only images');
      requireDatastoreImage(datastore, request.query.id);
      for (const record of datastore.list()) if (record.name === request.query.id) datastore.remove(record.id);
      return {};
    },
  );
}

/** PUT /datastore/?image=ID: an image id used again replaces the earlier image. */
async function registerDatastoreUpload(scope: FastifyInstance, context: ServiceContext, datastore: SessionStore) {
  await acceptUploads(scope, context, {
    field: 'file',
    reserve: () => datastore.reserve(),
    kept: (id) => datastore.read(id) !== undefined,
    discard: (id) => datastore.remove(id),
  });
  scope.put<{ Querystring: { image?: string } }>(
    '/datastore/',
    {
      schema: {
        summary: 'MONAI Label: add an image to the datastore, for inference by image id',
        description: 'An image id used again replaces the earlier image. The id is a name, never a path.',
        tags: ['MONAI Label'],
        consumes: ['multipart/form-data'],
        querystring: { type: 'object', properties: { image: imageIdSchema } },
        body: {
          type: 'object',
          required: ['file'],
          properties: {
            file: { type: 'array', items: { type: 'string', format: 'binary' } },
            params: { type: 'string' },
          },
        },
        response: {
          200: { type: 'object', properties: { image: { type: 'string' } } },
          400: errorSchema,
          413: errorSchema,
        },
      },
    },
    async (request) => {
      const staging = request.staging;
      if (!staging) throw new HttpError(400, 'NO_FILE', 'the upload holds no file: send the image in "file"');
      const input = staging.arrange();
      await checkReadable(staging.jobDir, input);
      const name = request.query.image ?? staging.jobId;
      const earlier = datastore.list().filter((record) => record.name === name);
      await datastore.create(staging.jobId, input, name);
      for (const record of earlier) datastore.remove(record.id);
      datastore.sweep();
      request.log.info({ upload: staging.jobId, files: input.files, bytes: input.bytes }, 'datastore image added');
      return { image: name };
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

function requireDatastoreImage(datastore: SessionStore, name: string): SessionRecord {
  const record = datastore.findByName(name);
  if (!record)
    throw new HttpError(
      404,
      'NO_SUCH_IMAGE',
      `no image "${name}" in the datastore (PUT /datastore/?image=ID adds one; images are kept ${Math.round(datastore.expiryS / 3600)} h after their last use)`,
    );
  return record;
}

/**
 * A job on a copy of a kept image (the upload stays for the next inference): the session when
 * session_id is given, else the datastore image named by `image`.
 */
export async function jobFromKeptUpload(
  context: ServiceContext,
  uploads: MonaiUploads,
  request: FastifyRequest,
  query: { image?: string; session_id?: string },
  job: JobRequest,
): Promise<JobRecord> {
  const [store, record] = query.session_id
    ? [uploads.sessions, requireSession(uploads.sessions, query.session_id)]
    : query.image
      ? [uploads.datastore, requireDatastoreImage(uploads.datastore, query.image)]
      : [undefined, undefined];
  if (!store || !record)
    throw new HttpError(
      400,
      'NO_IMAGE',
      'no image: send it in "file", or upload it first (PUT /datastore/?image=ID, then image=ID; or PUT /session/, then session_id=...)',
    );
  const { id, dir } = context.store.reserve();
  try {
    const input = await store.copyInto(record.id, dir);
    return await queueJob(context, request, id, job, input);
  } catch (error) {
    if (!context.store.read(id)) context.store.remove(id);
    throw error;
  }
}
