/**
 * JSON schemas of the API: Fastify validates requests and serialises responses with them, and
 * @fastify/swagger turns the same schemas into GET /openapi.json, so the document cannot drift.
 */
import { JOB_STATES } from './job-store.js';

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable, machine-readable' },
        message: { type: 'string', description: 'what was wrong and what to do' },
      },
    },
  },
} as const;

const jobError = {
  type: ['object', 'null'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

export const jobSchema = {
  type: 'object',
  required: ['id', 'state', 'task', 'created_at', 'url'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    url: { type: 'string', description: 'this job' },
    state: { type: 'string', enum: [...JOB_STATES] },
    task: { type: 'string', enum: ['segment', 'detect', 'recognize'] },
    prompts: { type: ['string', 'null'] },
    options: {
      type: 'object',
      properties: {
        modality: { type: ['string', 'null'] },
        series: { type: ['string', 'null'] },
        volume: { type: ['integer', 'null'] },
        experimental: { type: 'boolean' },
        keep_islands: { type: 'boolean' },
        dicom_seg: { type: 'boolean' },
      },
    },
    stage: { type: ['string', 'null'], description: 'the CLI progress stage: read, inference, write...' },
    fraction: { type: 'number', minimum: 0, maximum: 1, description: 'of the current stage' },
    message: { type: ['string', 'null'] },
    attempts: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: ['string', 'null'], format: 'date-time' },
    finished_at: { type: ['string', 'null'], format: 'date-time' },
    error: jobError,
    links: {
      type: 'object',
      properties: {
        events: { type: 'string' },
        report: { type: ['string', 'null'] },
        files: { type: 'array', items: { type: 'string' }, description: 'URLs of the files the report lists' },
      },
    },
  },
} as const;

export const jobIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid', description: 'the id POST /v1/jobs answered' } },
} as const;

/** The multipart fields of POST /v1/jobs; `file` once for an image or a DICOM .zip, repeated for DICOM files. */
export const submitBodySchema = {
  type: 'object',
  required: ['file', 'task'],
  additionalProperties: false,
  properties: {
    file: {
      type: 'array',
      items: { type: 'string', format: 'binary' },
      description:
        'NIfTI (.nii, .nii.gz), MGH (.mgh, .mgz), NRRD (.nrrd), MetaImage (.mha), a NIfTI .hdr/.img pair, a DICOM .zip, or several DICOM files of one series',
    },
    task: { type: 'string', enum: ['segment', 'detect', 'recognize'] },
    prompts: {
      type: 'string',
      minLength: 1,
      maxLength: 2000,
      description: 'segment and detect: "liver, spleen and both kidneys"; recognize takes none',
    },
    modality: { type: 'string', enum: ['CT', 'MR'], description: 'default: from the file, else from its values' },
    series: {
      type: 'string',
      pattern: '^[0-9.]+(,[0-9.]+)*$',
      maxLength: 1024,
      description: 'SeriesInstanceUID(s) to read when the DICOM upload holds several series',
    },
    volume: { type: 'integer', minimum: 0, description: 'which volume of a 4D file' },
    experimental: { type: 'boolean', default: false },
    keep_islands: { type: 'boolean', default: false },
    dicom_seg: { type: 'boolean', default: false, description: 'also write segmentation.dcm for non-DICOM input' },
  },
} as const;

export const submittedSchema = {
  type: 'object',
  required: ['id', 'url', 'state'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    url: { type: 'string' },
    state: { type: 'string', enum: [...JOB_STATES] },
  },
} as const;

export const jobListSchema = {
  type: 'object',
  required: ['jobs', 'total', 'limit', 'offset'],
  properties: {
    jobs: { type: 'array', items: jobSchema },
    total: { type: 'integer' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
    next: { type: ['string', 'null'], description: 'the next page, null on the last' },
  },
} as const;

export const jobListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    offset: { type: 'integer', minimum: 0, default: 0 },
    state: { type: 'string', enum: [...JOB_STATES] },
  },
} as const;

const conceptRef = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    laterality: { type: ['string', 'null'] },
    snomed: { type: ['string', 'null'] },
  },
} as const;

export const resolveSchema = {
  type: 'object',
  properties: {
    prompts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          text: { type: 'string' },
          status: { type: 'string', enum: ['resolved', 'ambiguous', 'unknown'] },
          concepts: { type: 'array', items: conceptRef },
          confidence: { type: 'number' },
          matched_by: { type: 'string' },
          laterality: { type: ['string', 'null'] },
          location: { ...conceptRef, type: ['object', 'null'] },
          suggestions: { type: 'array', items: { type: 'string' } },
          notes: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

export const modelsSchema = {
  type: 'object',
  properties: {
    models: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          version: { type: 'string' },
          license: { type: 'string' },
          networks: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                modalities: { type: 'array', items: { type: 'string' } },
                concepts: { type: 'array', items: { type: 'string' }, description: 'answered' },
                withheld: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'measured not to work; answered only with experimental=true',
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

export const healthSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    queue: { type: 'string', enum: ['embedded', 'redis'] },
    version: { type: 'string' },
    detail: { type: 'string' },
  },
} as const;
