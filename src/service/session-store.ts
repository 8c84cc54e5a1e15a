/**
 * MONAI Label sessions: 3D Slicer uploads the volume it shows once (PUT /session/) and then asks for
 * inference on it by session id. A session is a folder `<data>/sessions/<id>/` with the upload in
 * input/ and session.json; each inference copies the input into a job of its own. Sessions expire
 * an hour after their last use, as MONAI Label's do.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { writeFileAtomic } from '../io/atomic-write.js';
import { isJobId, type JobInput } from './job-store.js';

export const SESSION_EXPIRY_S = 3600;

export interface SessionRecord {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  input: JobInput;
}

export class SessionStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'sessions');
    mkdirSync(this.root, { recursive: true });
  }

  reserve(): { id: string; dir: string } {
    const id = randomUUID();
    mkdirSync(join(this.root, id, 'input'), { recursive: true });
    return { id, dir: join(this.root, id) };
  }

  async create(id: string, input: JobInput): Promise<SessionRecord> {
    const now = new Date().toISOString();
    const record: SessionRecord = { id, createdAt: now, lastUsedAt: now, input };
    await writeFileAtomic(join(this.root, id, 'session.json'), JSON.stringify(record, null, 2) + '\n');
    return record;
  }

  read(id: string, now = Date.now()): SessionRecord | undefined {
    if (!isJobId(id)) return undefined;
    try {
      const record = JSON.parse(readFileSync(join(this.root, id, 'session.json'), 'utf8')) as SessionRecord;
      return now - Date.parse(record.lastUsedAt) > SESSION_EXPIRY_S * 1000 ? undefined : record;
    } catch {
      return undefined;
    }
  }

  /** Copies the session's upload into a job folder's input/ and marks the session used. */
  async copyInto(id: string, jobDir: string): Promise<JobInput> {
    const record = this.read(id);
    if (!record) throw new Error(`no session ${id}`);
    cpSync(join(this.root, id, 'input'), join(jobDir, 'input'), { recursive: true });
    const used = { ...record, lastUsedAt: new Date().toISOString() };
    await writeFileAtomic(join(this.root, id, 'session.json'), JSON.stringify(used, null, 2) + '\n');
    return record.input;
  }

  remove(id: string): void {
    if (isJobId(id)) rmSync(join(this.root, id), { recursive: true, force: true });
  }

  /** Removes expired sessions, and uploads that never became one once they are as old as the expiry. */
  sweep(now = Date.now()): void {
    for (const name of readdirSync(this.root)) {
      if (!isJobId(name) || this.read(name, now)) continue;
      const dir = join(this.root, name);
      try {
        if (existsSync(join(dir, 'session.json')) || now - statSync(dir).mtimeMs > SESSION_EXPIRY_S * 1000)
          this.remove(name);
      } catch {
        // removed meanwhile
      }
    }
  }
}
