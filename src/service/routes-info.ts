/** What the server knows and how it is doing: models, vocabulary, health, Prometheus metrics. */
import type { FastifyInstance } from 'fastify';
import { parsePrompts } from '../vocab/index.js';
import { JOB_STATES, type JobRecord } from './job-store.js';
import { errorSchema, healthSchema, modelsSchema, resolveSchema } from './schemas.js';
import { packageVersion } from './run-job.js';
import type { ServiceContext } from './server.js';

/** Upper bounds (seconds) of the job duration histogram. */
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

export function registerInfoRoutes(app: FastifyInstance, context: ServiceContext): void {
  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'The model this server runs: networks, modalities, concepts',
        response: { 200: modelsSchema },
      },
    },
    async () => ({ models: [describeModel(context)] }),
  );

  app.get<{ Querystring: { text: string } }>(
    '/v1/vocabulary/resolve',
    {
      schema: {
        summary: 'How prompt text resolves to vocabulary concepts (no image needed)',
        querystring: {
          type: 'object',
          required: ['text'],
          properties: { text: { type: 'string', minLength: 1, maxLength: 2000 } },
        },
        response: { 200: resolveSchema, 400: errorSchema },
      },
    },
    async (request) => ({
      prompts: parsePrompts(request.query.text, context.vocabulary).map((p) => ({
        text: p.text,
        status: p.status,
        concepts: p.concepts,
        confidence: p.confidence,
        matched_by: p.matchedBy,
        laterality: p.laterality,
        location: p.location ?? null,
        suggestions: p.suggestions,
        notes: p.notes,
      })),
    }),
  );

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness and the queue behind the server (no key needed)',
        response: { 200: healthSchema, 503: healthSchema },
      },
    },
    async (_request, reply) => {
      const base = { queue: context.queueKind, version: packageVersion() };
      try {
        await context.queue.depth();
        return { status: 'ok', ...base };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return reply.code(503).send({ status: 'degraded', ...base, detail });
      }
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: jobs by state, job durations, queue depth',
        response: {
          200: { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      },
    },
    async (_request, reply) =>
      reply
        .type('text/plain; version=0.0.4; charset=utf-8')
        .send(prometheusText(context.store.list(), await context.queue.depth())),
  );
}

function describeModel(context: ServiceContext) {
  const model = context.model;
  return {
    name: model.name,
    version: model.version,
    license: model.license,
    networks: model.networks.map((n) => ({
      id: n.id,
      modalities: n.modalities,
      concepts: n.concepts.filter((c) => !c.withheld).map((c) => c.id),
      withheld: n.concepts.filter((c) => c.withheld).map((c) => c.id),
    })),
  };
}

/**
 * The exposition text: jobs in the data folder by state, the run time of the finished jobs the
 * folder keeps (a histogram), and the jobs waiting for a worker.
 */
export function prometheusText(records: JobRecord[], queueDepth: number): string {
  const lines: string[] = [];
  lines.push('# HELP medparse_jobs Jobs in the data folder, by state.', '# TYPE medparse_jobs gauge');
  for (const state of JOB_STATES)
    lines.push(`medparse_jobs{state="${state}"} ${records.filter((r) => r.state === state).length}`);
  const durations = records
    .filter((r) => r.state === 'done' && r.startedAt && r.finishedAt)
    .map((r) => (Date.parse(r.finishedAt as string) - Date.parse(r.startedAt as string)) / 1000);
  lines.push(
    '# HELP medparse_job_duration_seconds Run time of the last attempt of the done jobs the data folder keeps.',
    '# TYPE medparse_job_duration_seconds histogram',
  );
  for (const bound of DURATION_BUCKETS)
    lines.push(`medparse_job_duration_seconds_bucket{le="${bound}"} ${durations.filter((d) => d <= bound).length}`);
  lines.push(`medparse_job_duration_seconds_bucket{le="+Inf"} ${durations.length}`);
  lines.push(`medparse_job_duration_seconds_sum ${durations.reduce((a, b) => a + b, 0).toFixed(3)}`);
  lines.push(`medparse_job_duration_seconds_count ${durations.length}`);
  lines.push('# HELP medparse_queue_depth Jobs waiting for a worker.', '# TYPE medparse_queue_depth gauge');
  lines.push(`medparse_queue_depth ${queueDepth}`);
  return lines.join('\n') + '\n';
}
