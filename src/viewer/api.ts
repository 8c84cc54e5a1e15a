/**
 * The viewer's side of the HTTP API (docs: GET /openapi.json of `medparse serve`). Only fetch, so the
 * same calls work with an API key (EventSource cannot send one) and from static files pointed at a
 * server with `?api=http://host:port`.
 */
import type { LabelTable } from '../io/label-table.js';
import type { Report } from '../tasks/report.js';

export type Task = 'segment' | 'detect' | 'recognize';

/** GET /v1/vocabulary/resolve, one prompt of it. */
export interface ResolvedPrompt {
  text: string;
  status: 'resolved' | 'ambiguous' | 'unknown';
  concepts: Array<{ id: string; name: string; laterality: string | null }>;
  laterality: string | null;
  suggestions: string[];
  notes: string[];
}

export interface Submitted {
  id: string;
  url: string;
  state: string;
}

export interface JobView {
  id: string;
  url: string;
  state: string;
  stage: string | null;
  fraction: number;
  message: string | null;
  error: { code: string; message: string } | null;
  links: { events: string; report: string | null; files: string[] };
}

export interface Progress {
  state: string;
  stage: string | null;
  fraction: number;
  message: string | null;
}

export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly apiKey: () => string | undefined,
  ) {}

  /** An absolute URL of a path the API answered (links are server-relative). */
  url(path: string): string {
    return new URL(path, this.base).toString();
  }

  async resolve(text: string, signal?: AbortSignal): Promise<ResolvedPrompt[]> {
    const body = await this.json<{ prompts: ResolvedPrompt[] }>(
      `/v1/vocabulary/resolve?text=${encodeURIComponent(text)}`,
      { signal },
    );
    return body.prompts;
  }

  /** POST /v1/jobs: answers the new job's id, url and state. */
  async submit(files: readonly File[], task: Task, prompts: string, series?: string): Promise<Submitted> {
    const form = new FormData();
    form.append('task', task);
    if (task !== 'recognize') form.append('prompts', prompts);
    if (series) form.append('series', series);
    for (const file of files) form.append('file', file, file.name);
    return this.json<Submitted>('/v1/jobs', { method: 'POST', body: form });
  }

  /**
   * POST /v1/convert: the files of one image (a DICOM .zip, files or folder) as NIfTI bytes; `series`
   * picks one of several series.
   */
  async convert(files: readonly File[], series?: string): Promise<ArrayBuffer> {
    const form = new FormData();
    if (series) form.append('series', series);
    for (const file of files) form.append('file', file, file.name);
    return (await this.fetch('/v1/convert', { method: 'POST', body: form })).arrayBuffer();
  }

  /** Follows /v1/jobs/:id/events until the job finishes; resolves with the final job. */
  async follow(job: Submitted, onProgress: (progress: Progress) => void): Promise<JobView> {
    const response = await this.fetch(`${job.url}/events`);
    if (!response.body) throw new Error('the server sent no event stream');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue; // a keep-alive comment
        if (event === 'progress') onProgress(JSON.parse(data) as Progress);
        else if (event === 'gone') throw new Error('the job was removed on the server');
        else return JSON.parse(data) as JobView;
      }
    }
    throw new Error('the event stream ended before the job finished');
  }

  /**
   * POST /v1/jobs/:id/cancel, which never removes results: a job that finished before the cancel
   * arrived answers 409 ALREADY_FINISHED and its event stream ends as usual, so its results show.
   */
  async cancel(job: Submitted): Promise<void> {
    try {
      await this.fetch(`${job.url}/cancel`, { method: 'POST' });
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'ALREADY_FINISHED')) throw error;
    }
  }

  report(job: JobView): Promise<Report> {
    return this.json<Report>(`${job.url}/report`);
  }

  labels(job: JobView): Promise<LabelTable> {
    return this.json<LabelTable>(`${job.url}/files/labels.json`);
  }

  async bytes(path: string): Promise<ArrayBuffer> {
    return (await this.fetch(path)).arrayBuffer();
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.fetch(path, init)).json()) as T;
  }

  /** fetch with the API key; an error answer becomes an Error with the server's one-line message. */
  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const key = this.apiKey();
    const headers = new Headers(init.headers);
    if (key) headers.set('authorization', `Bearer ${key}`);
    const response = await fetch(this.url(path), { ...init, headers });
    if (!response.ok) {
      const body = (await response.json().catch(() => undefined)) as
        { error?: { code?: string; message?: string } } | undefined;
      throw new ApiError(
        response.status,
        body?.error?.code ?? 'HTTP_ERROR',
        body?.error?.message ?? response.statusText,
      );
    }
    return response;
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
