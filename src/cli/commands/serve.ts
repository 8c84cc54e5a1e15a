/**
 * `medparse serve`: the HTTP service; `medparse worker`: a BullMQ worker for a service started
 * with --redis. Both run until SIGINT or SIGTERM.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_DEFAULTS } from '../../service/defaults.js';
import type { ServiceConfig } from '../../service/server.js';
import { DEFAULT_MODEL_DIR } from '../../core/paths.js';
import { EXIT, type CommandIO } from '../io.js';
import { UsageError } from '../usage.js';

export const SERVE_USAGE =
  'medparse serve [--port 8000] [--host 127.0.0.1] [--data DIR] [--workers N] [--redis URL] [--api-key KEY] [--max-upload-mb N] [--max-files N] [--max-queue N] [--max-attempts N] [--keep-hours N] [--model DIR] [--quiet]';

// the server and BullMQ are loaded only when serving, so that other commands start fast
const DEFAULT_CONFIG = SERVICE_DEFAULTS;

export const WORKER_USAGE =
  'medparse worker --redis URL --data DIR [--workers N] [--max-attempts N] [--keep-hours N] [--stalled-seconds N] [--model DIR]';

const DEFAULT_DATA_DIR = 'medparse-data';

/** One worker per two cores: each uses two onnxruntime threads (1 worker on a 2-core machine). */
export function defaultWorkers(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

export async function runServeCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8000' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: DEFAULT_DATA_DIR },
      workers: { type: 'string' },
      redis: { type: 'string' },
      'api-key': { type: 'string' },
      'max-upload-mb': { type: 'string' },
      'max-files': { type: 'string' },
      'max-queue': { type: 'string' },
      'max-attempts': { type: 'string' },
      'keep-hours': { type: 'string' },
      model: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const number = (name: string, value: string | undefined, fallback: number, min = 1) =>
    positiveNumber(name, value, fallback, min, SERVE_USAGE);
  const config: ServiceConfig = {
    dataDir: resolve(values.data),
    modelDir: resolve(values.model ?? DEFAULT_MODEL_DIR),
    workers: number('--workers', values.workers, defaultWorkers()),
    maxAttempts: number('--max-attempts', values['max-attempts'], DEFAULT_CONFIG.maxAttempts),
    keepHours: number('--keep-hours', values['keep-hours'], DEFAULT_CONFIG.keepHours, 0),
    maxUploadMb: number('--max-upload-mb', values['max-upload-mb'], DEFAULT_CONFIG.maxUploadMb),
    maxFiles: number('--max-files', values['max-files'], DEFAULT_CONFIG.maxFiles),
    maxQueue: number('--max-queue', values['max-queue'], DEFAULT_CONFIG.maxQueue),
    apiKey: values['api-key'] ?? process.env.MEDPARSE_API_KEY ?? undefined,
    redisUrl: values.redis,
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

export async function runWorkerCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      redis: { type: 'string' },
      data: { type: 'string' },
      workers: { type: 'string' },
      'max-attempts': { type: 'string' },
      'keep-hours': { type: 'string' },
      'stalled-seconds': { type: 'string' },
      model: { type: 'string' },
    },
  });
  if (!values.redis)
    throw new UsageError('worker needs the Redis of the service: --redis redis://host:6379', WORKER_USAGE);
  if (!values.data) throw new UsageError('worker needs the data folder the service uses: --data DIR', WORKER_USAGE);
  const number = (name: string, value: string | undefined, fallback: number, min = 1) =>
    positiveNumber(name, value, fallback, min, WORKER_USAGE);
  const workers = number('--workers', values.workers, defaultWorkers());
  const { BullWorker } = await import('../../service/bull-queue.js');
  const { JobStore } = await import('../../service/job-store.js');
  const worker = new BullWorker(new JobStore(resolve(values.data)), {
    redisUrl: values.redis,
    workers,
    modelDir: resolve(values.model ?? DEFAULT_MODEL_DIR),
    maxAttempts: number('--max-attempts', values['max-attempts'], DEFAULT_CONFIG.maxAttempts),
    keepHours: number('--keep-hours', values['keep-hours'], DEFAULT_CONFIG.keepHours, 0),
    lockMs: number('--stalled-seconds', values['stalled-seconds'], 30) * 1000,
  });
  await worker.start();
  io.stderr(`medparse worker: ${workers} worker process(es) taking jobs from ${redactUrl(values.redis)}`);
  await untilSignal();
  await worker.close();
  return EXIT.ok;
}

function positiveNumber(name: string, value: string | undefined, fallback: number, min: number, usage: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (name !== '--keep-hours' && !Number.isInteger(n)))
    throw new UsageError(
      `${name} must be a ${min === 0 ? '' : 'positive '}number${min === 0 ? ' >= 0' : ''}, got "${value}"`,
      usage,
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
