/**
 * Uploads kept for later inference, MONAI Label's two ways: sessions (3D Slicer uploads the volume
 * it shows once with PUT /session/ and then asks for inference by session id) and the datastore
 * (PUT /datastore/?image=ID, then /infer/{model}?image=ID). Each upload is a folder
 * `<data>/<kind>/<uuid>/` with the files in input/ and session.json; each inference copies the
 * input into a job of its own. The datastore's image ids are names in session.json, never paths.
 * Uploads expire after their last use: sessions after an hour, as MONAI Label's do.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { writeFileAtomic } from '../io/atomic-write.js';
import { isJobId, type JobInput } from './job-store.js';

export const SESSION_EXPIRY_S = 3600;

export interface SessionRecord {
  id: string;
  /** The client's image id (datastore uploads only). */
  name?: string;
  createdAt: string;
  lastUsedAt: string;
  input: JobInput;
}

export interface SessionStoreOptions {
  /** Folder under the data folder: 'sessions' or 'datastore'. */
  folder: string;
  /** Seconds after its last use that an upload expires. */
  expiryS: number;
}

export class SessionStore {
  readonly root: string;
  readonly expiryS: number;

  constructor(dataDir: string, options: SessionStoreOptions = { folder: 'sessions', expiryS: SESSION_EXPIRY_S }) {
    this.root = join(dataDir, options.folder);
    this.expiryS = options.expiryS;
    mkdirSync(this.root, { recursive: true });
  }

  reserve(): { id: string; dir: string } {
    const id = randomUUID();
    mkdirSync(join(this.root, id, 'input'), { recursive: true });
    return { id, dir: join(this.root, id) };
  }

  async create(id: string, input: JobInput, name?: string): Promise<SessionRecord> {
    const now = new Date().toISOString();
    const record: SessionRecord = {
      id,
      ...(name !== undefined ? { name } : {}),
      createdAt: now,
      lastUsedAt: now,
      input,
    };
    await writeFileAtomic(join(this.root, id, 'session.json'), JSON.stringify(record, null, 2) + '\n');
    return record;
  }

  read(id: string, now = Date.now()): SessionRecord | undefined {
    if (!isJobId(id)) return undefined;
    try {
      const record = JSON.parse(readFileSync(join(this.root, id, 'session.json'), 'utf8')) as SessionRecord;
      return now - Date.parse(record.lastUsedAt) > this.expiryS * 1000 ? undefined : record;
    } catch {
      return undefined;
    }
  }

  /** Every live upload, newest first. */
  list(now = Date.now()): SessionRecord[] {
    return readdirSync(this.root)
      .map((name) => this.read(name, now))
      .filter((record): record is SessionRecord => record !== undefined)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** The newest live upload under the client's image id. */
  findByName(name: string): SessionRecord | undefined {
    return this.list().find((record) => record.name === name);
  }

  /** The folder that holds an upload's files (input.path is relative to it). */
  dirOf(id: string): string {
    if (!isJobId(id)) throw new Error(`not an upload id: ${id}`);
    return join(this.root, id);
  }

  /** Copies the upload into a job folder's input/ and marks the upload used. */
  async copyInto(id: string, jobDir: string): Promise<JobInput> {
    const record = this.read(id);
    if (!record) throw new Error(`no upload ${id}`);
    cpSync(join(this.root, id, 'input'), join(jobDir, 'input'), { recursive: true });
    const used = { ...record, lastUsedAt: new Date().toISOString() };
    await writeFileAtomic(join(this.root, id, 'session.json'), JSON.stringify(used, null, 2) + '\n');
    return record.input;
  }

  remove(id: string): void {
    if (isJobId(id)) rmSync(join(this.root, id), { recursive: true, force: true });
  }

  /** Removes expired uploads, and uploads that never became one once they are as old as the expiry. */
  sweep(now = Date.now()): void {
    for (const name of readdirSync(this.root)) {
      if (!isJobId(name) || this.read(name, now)) continue;
      const dir = join(this.root, name);
      try {
        if (existsSync(join(dir, 'session.json')) || now - statSync(dir).mtimeMs > this.expiryS * 1000)
          this.remove(name);
      } catch {
        // removed meanwhile
      }
    }
  }
}
