/** How the API shows a job, and which of its files a client may fetch. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { filesListedInReport } from '../tasks/output-folder.js';
import type { JobRecord } from './job-store.js';

export function jobUrl(id: string): string {
  return `/v1/jobs/${id}`;
}

/** The job as GET /v1/jobs/:id answers it (snake_case, as report.json is). */
export function jobView(record: JobRecord, files: string[] = []) {
  const url = jobUrl(record.id);
  const request = record.request;
  return {
    id: record.id,
    url,
    state: record.state,
    task: request.task,
    prompts: request.prompts ?? null,
    options: {
      modality: request.modality ?? null,
      series: request.series ?? null,
      volume: request.volume ?? null,
      experimental: request.experimental,
      keep_islands: request.keepIslands,
      dicom_seg: request.dicomSeg,
    },
    stage: record.stage,
    fraction: record.fraction,
    message: record.message,
    attempts: record.attempts,
    created_at: record.createdAt,
    started_at: record.startedAt,
    finished_at: record.finishedAt,
    error: record.error,
    links: {
      events: `${url}/events`,
      report: record.state === 'done' ? `${url}/report` : null,
      files: files.map((name) => `${url}/files/${name}`),
    },
  };
}

export type JobView = ReturnType<typeof jobView>;

/**
 * The files a finished job's report.json lists, and report.json itself: the only names
 * GET /v1/jobs/:id/files/:name serves. Empty when there is no report.
 */
export function reportedFiles(outputDir: string): string[] {
  if (!existsSync(join(outputDir, 'report.json'))) return [];
  return ['report.json', ...new Set(filesListedInReport(outputDir))];
}

const CONTENT_TYPES: Array<[RegExp, string]> = [
  [/\.nii\.gz$/, 'application/gzip'],
  [/\.json$/, 'application/json'],
  [/\.png$/, 'image/png'],
  [/\.dcm$/, 'application/dicom'],
];

export function contentTypeOf(name: string): string {
  return CONTENT_TYPES.find(([pattern]) => pattern.test(name))?.[1] ?? 'application/octet-stream';
}
