/**
 * `medparse serve`: the HTTP service; `medparse worker`: a BullMQ worker for a service started
 * with --redis. Both run until SIGINT or SIGTERM.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SERVICE_DEFAULTS } from '../../service/defaults.js';
import type { ServiceConfig } from '../../service/server.js';
import { DEFAULT_MODEL_DIR } from '../../core/paths.js';
import type { CliContext } from '../context.js';
import { EXIT, type CommandIO } from '../io.js';
import { UsageError } from '../usage.js';

// the server and BullMQ are loaded only when serving, so that other commands start fast
const DEFAULT_CONFIG = SERVICE_DEFAULTS;

const DEFAULT_DATA_DIR = 'medparse-data';

/** One worker per two cores: each uses two onnxruntime threads (1 worker on a 2-core machine). */
export function defaultWorkers(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

interface ServeOptions {
  port: string;
  host: string;
  data: string;
  workers?: string;
  redis?: string;
  apiKey?: string;
  maxUploadMb?: string;
  maxFiles?: string;
  maxQueue?: string;
  maxAttempts?: string;
  keepHours?: string;
  model?: string;
  cors?: string;
  quiet: boolean;
}

interface WorkerOptions {
  redis?: string;
  data?: string;
  workers?: string;
  maxAttempts?: string;
  keepHours?: string;
  stalledSeconds?: string;
  model?: string;
}

export function defineServiceCommands(program: Command, context: CliContext): void {
  const d = DEFAULT_CONFIG;
  program
    .command('serve')
    .summary('HTTP service: submit images, follow jobs, fetch results')
    .description(
      'Run the HTTP service (OpenAPI document at /openapi.json): jobs are kept in --data and run in worker ' +
        'processes, or through BullMQ on Redis with --redis (then start workers with medparse worker). ' +
        'Runs until SIGINT or SIGTERM.',
    )
    .option('--port <port>', 'TCP port to listen on (0: any free port)', '8000')
    .option('--host <host>', 'address to listen on (anything but localhost should have --api-key)', '127.0.0.1')
    .option('--data <dir>', 'folder for uploads, job state and results', DEFAULT_DATA_DIR)
    .option('--workers <n>', `worker processes (default: one per two cores, here ${defaultWorkers()})`)
    .option('--redis <url>', 'queue jobs in Redis through BullMQ (redis://host:6379) for workers elsewhere')
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" (default: $MEDPARSE_API_KEY)')
    .option('--max-upload-mb <n>', `largest upload accepted, MB (default ${d.maxUploadMb})`)
    .option('--max-files <n>', `most files in one upload (default ${d.maxFiles})`)
    .option('--max-queue <n>', `most jobs waiting before new ones get 503 (default ${d.maxQueue})`)
    .option('--max-attempts <n>', `tries of a job whose worker crashed (default ${d.maxAttempts})`)
    .option('--keep-hours <h>', `hours finished jobs are kept (0: for ever; default ${d.keepHours})`)
    .option('--model <dir>', 'the model package (default: the shipped one)')
    .option('--cors <origins>', 'let pages of these origins call the API (comma-separated; * any; null: file://)')
    .option('--quiet', 'no request log')
    .action(async (options: ServeOptions) => {
      context.code = await runServeCommand(options, context.io);
    });
  program
    .command('worker')
    .summary('run the jobs of a service started with --redis')
    .description(
      'Take jobs from the BullMQ queue of a service started with --redis and run them; until SIGINT or SIGTERM.',
    )
    .option('--redis <url>', "the service's Redis (required), e.g. redis://host:6379")
    .option('--data <dir>', 'the data folder the service uses, shared with it (required)')
    .option('--workers <n>', `worker processes (default: one per two cores, here ${defaultWorkers()})`)
    .option('--max-attempts <n>', `tries of a job whose worker crashed (default ${d.maxAttempts})`)
    .option('--keep-hours <h>', `hours finished jobs are kept (0: for ever; default ${d.keepHours})`)
    .option('--stalled-seconds <s>', 'seconds without a heartbeat before a job is taken over by another worker', '30')
    .option('--model <dir>', 'the model package (default: the shipped one)')
    .action(async (options: WorkerOptions) => {
      context.code = await runWorkerCommand(options, context.io);
    });
}

async function runServeCommand(values: ServeOptions, io: CommandIO): Promise<number> {
  const number = (name: string, value: string | undefined, fallback: number, min = 1) =>
    positiveNumber(name, value, fallback, min);
  const config: ServiceConfig = {
    dataDir: resolve(values.data),
    modelDir: resolve(values.model ?? DEFAULT_MODEL_DIR),
    workers: number('--workers', values.workers, defaultWorkers()),
    maxAttempts: number('--max-attempts', values.maxAttempts, DEFAULT_CONFIG.maxAttempts),
    keepHours: number('--keep-hours', values.keepHours, DEFAULT_CONFIG.keepHours, 0),
    maxUploadMb: number('--max-upload-mb', values.maxUploadMb, DEFAULT_CONFIG.maxUploadMb),
    maxFiles: number('--max-files', values.maxFiles, DEFAULT_CONFIG.maxFiles),
    maxQueue: number('--max-queue', values.maxQueue, DEFAULT_CONFIG.maxQueue),
    apiKey: values.apiKey ?? process.env.MEDPARSE_API_KEY ?? undefined,
    redisUrl: values.redis,
    ...(values.cors ? { corsOrigins: values.cors.split(',').map((origin) => origin.trim()) } : {}),
    log: !values.quiet,
  };
  const port = number('--port', values.port, 8000, 0);
  const { buildService } = await import('../../service/server.js');
  const service = await buildService(config);
  const address = await service.app.listen({ port, host: values.host });
  const queue = config.redisUrl
    ? 'BullMQ on Redis (start workers with medparse worker)'
    : `${config.workers} worker process(es)`;
  io.stderr(`medparse serve: listening on ${address}; data in ${config.dataDir}; ${queue}`);
  if (values.host !== '127.0.0.1' && values.host !== 'localhost' && !config.apiKey)
    io.stderr('medparse serve: warning: reachable from other machines without --api-key');
  await untilSignal();
  await service.close();
  return EXIT.ok;
}

async function runWorkerCommand(values: WorkerOptions, io: CommandIO): Promise<number> {
  if (!values.redis) throw new UsageError('worker needs the Redis of the service: --redis redis://host:6379');
  if (!values.data) throw new UsageError('worker needs the data folder the service uses: --data DIR');
  const number = (name: string, value: string | undefined, fallback: number, min = 1) =>
    positiveNumber(name, value, fallback, min);
  const workers = number('--workers', values.workers, defaultWorkers());
  const { BullWorker } = await import('../../service/bull-queue.js');
  const { JobStore } = await import('../../service/job-store.js');
  const worker = new BullWorker(new JobStore(resolve(values.data)), {
    redisUrl: values.redis,
    workers,
    modelDir: resolve(values.model ?? DEFAULT_MODEL_DIR),
    maxAttempts: number('--max-attempts', values.maxAttempts, DEFAULT_CONFIG.maxAttempts),
    keepHours: number('--keep-hours', values.keepHours, DEFAULT_CONFIG.keepHours, 0),
    lockMs: number('--stalled-seconds', values.stalledSeconds, 30) * 1000,
  });
  await worker.start();
  io.stderr(`medparse worker: ${workers} worker process(es) taking jobs from ${redactUrl(values.redis)}`);
  await untilSignal();
  await worker.close();
  return EXIT.ok;
}

function positiveNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (name !== '--keep-hours' && !Number.isInteger(n)))
    throw new UsageError(
      `${name} must be a ${min === 0 ? '' : 'positive '}number${min === 0 ? ' >= 0' : ''}, got "${value}"`,
    );
  return n;
}

/** The Redis URL without its password, for the log. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
