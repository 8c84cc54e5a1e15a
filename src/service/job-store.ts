/**
 * Jobs on disk: one folder per job under `<data>/jobs/<id>/` holding job.json (its state, replaced
 * atomically), input/ (the upload), output/ (the results folder) and, once cancelled, a `cancel`
 * marker. The folder is the single source of truth, so a restarted server, or workers on other
 * machines that share the folder, see the same jobs.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { TaskName } from '../tasks/output-folder.js';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'failed', 'cancelled'];

export const FINISHED_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** What the client asked for: the CLI's options of segment / detect / recognize. */
export interface JobRequest {
  task: TaskName;
  prompts?: string;
  modality?: 'CT' | 'MR';
  series?: string;
  volume?: number;
  experimental: boolean;
  keepIslands: boolean;
  dicomSeg: boolean;
}

/** Where the upload lies inside the job folder: one file, or a folder of DICOM files. */
export interface JobInput {
  /** Relative to the job folder; chosen by the server, never by the client. */
  path: string;
  files: number;
  bytes: number;
}

export interface JobError {
  code: string;
  message: string;
}

export interface JobRecord {
  id: string;
  state: JobState;
  request: JobRequest;
  input: JobInput;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Runs started so far (a crash or a server restart mid-run starts another). */
  attempts: number;
  /** host:pid of the process that runs (or last ran) the job: the server, or a medparse worker. */
  runner: string | null;
  stage: string | null;
  fraction: number;
  message: string | null;
  error: JobError | null;
}

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for ids this store makes; anything else never reaches the file system. */
export function isJobId(text: string): boolean {
  return ID_PATTERN.test(text);
}

export class JobStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'jobs');
    mkdirSync(this.root, { recursive: true });
  }

  /** A fresh job folder with an empty input/; the job exists once create() writes its job.json. */
  reserve(): { id: string; dir: string } {
    const id = randomUUID();
    const dir = this.dir(id);
    mkdirSync(join(dir, 'input'), { recursive: true });
    return { id, dir };
  }

  dir(id: string): string {
    if (!isJobId(id)) throw new Error(`not a job id: ${JSON.stringify(id)}`);
    return join(this.root, id);
  }

  outputDir(id: string): string {
    return join(this.dir(id), 'output');
  }

  async create(id: string, request: JobRequest, input: JobInput): Promise<JobRecord> {
    const record: JobRecord = {
      id,
      state: 'queued',
      request,
      input,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      attempts: 0,
      runner: null,
      stage: null,
      fraction: 0,
      message: null,
      error: null,
    };
    await this.write(record);
    return record;
  }

  /** The job as it stands, or undefined when there is no such job (or the id is not one of ours). */
  read(id: string): JobRecord | undefined {
    const record = this.readWritten(id);
    if (!record) return undefined;
    // The marker wins over whatever a worker wrote after the cancel: no race between writers.
    if ((record.state === 'queued' || record.state === 'running') && this.isCancelled(id))
      return { ...record, state: 'cancelled' };
    return record;
  }

  /** Applies a change unless the job is gone or already finished (a late worker write never revives it). */
  async update(id: string, change: (record: JobRecord) => Partial<JobRecord>): Promise<JobRecord | undefined> {
    const current = this.read(id);
    if (!current || FINISHED_STATES.includes(current.state)) return current;
    const next = { ...current, ...change(current) };
    await this.write(next);
    return next;
  }

  /**
   * Marks the job cancelled: the marker first (workers watch it), then the state. A finished job is
   * answered as it is, results and all; so is one whose worker wrote its end just before the marker.
   */
  async cancel(id: string): Promise<JobRecord | undefined> {
    const current = this.read(id);
    if (!current || FINISHED_STATES.includes(current.state)) return current;
    const marker = join(this.dir(id), 'cancel');
    writeFileSync(marker, new Date().toISOString());
    const written = this.readWritten(id);
    if (written && FINISHED_STATES.includes(written.state)) {
      rmSync(marker, { force: true });
      return written;
    }
    const next: JobRecord = { ...current, state: 'cancelled', finishedAt: new Date().toISOString() };
    await this.write(next);
    return next;
  }

  isCancelled(id: string): boolean {
    return existsSync(join(this.dir(id), 'cancel'));
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Every job with a readable job.json, newest first. */
  list(): JobRecord[] {
    const records: JobRecord[] = [];
    for (const name of readdirSync(this.root)) {
      const record = isJobId(name) ? this.read(name) : undefined;
      if (record) records.push(record);
    }
    return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  /**
   * Removes finished jobs older than `keepHours`, and folders that never became a job (an upload
   * cut off by a crash) once they are an hour old. Returns the ids removed.
   */
  sweep(keepHours: number, now = Date.now()): string[] {
    const removed: string[] = [];
    for (const name of readdirSync(this.root)) {
      if (!isJobId(name)) continue;
      const record = this.read(name);
      const finishedAt = record?.finishedAt ? Date.parse(record.finishedAt) : undefined;
      const expired =
        record && FINISHED_STATES.includes(record.state) && finishedAt !== undefined
          ? now - finishedAt > keepHours * 3600_000
          : !record && now - folderTime(join(this.root, name)) > 3600_000;
      if (expired) {
        this.remove(name);
        removed.push(name);
      }
    }
    return removed;
  }

  /** job.json as last written, without the cancel marker's say. */
  private readWritten(id: string): JobRecord | undefined {
    if (!isJobId(id)) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.dir(id), 'job.json'), 'utf8')) as JobRecord;
    } catch {
      return undefined;
    }
  }

  private async write(record: JobRecord): Promise<void> {
    await writeFileAtomic(join(this.dir(record.id), 'job.json'), JSON.stringify(record, null, 2) + '\n');
  }
}

function folderTime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}
