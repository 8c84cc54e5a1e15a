import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isJobId, JobStore, type JobRequest } from '../../src/service/job-store.js';
import { SESSION_EXPIRY_S, SessionStore } from '../../src/service/session-store.js';

const REQUEST: JobRequest = { task: 'recognize', experimental: false, keepIslands: false, dicomSeg: false };
const INPUT = { path: 'input/image.nii.gz', files: 1, bytes: 10 };
const HOUR = 3600_000;

describe('JobStore: job folders in the data folder', () => {
  let root: string;
  let store: JobStore;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'medparse-store-'));
    store = new JobStore(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('refuses ids it did not make before they touch the disk', () => {
    assert.equal(isJobId('../../etc'), false);
    assert.equal(store.read('../../etc/passwd'), undefined);
    assert.throws(() => store.dir('a/../../b'), /not a job id/);
  });

  it('a cancel wins over a late write of a worker, and nothing revives a finished job', async () => {
    const { id } = store.reserve();
    await store.create(id, REQUEST, INPUT);
    await store.update(id, () => ({ state: 'running', stage: 'inference' }));
    await store.cancel(id);
    const late = await store.update(id, () => ({ state: 'running', stage: 'write', fraction: 0.5 }));
    assert.equal(late?.state, 'cancelled');
    assert.equal(store.read(id)?.state, 'cancelled');
    const done = store.reserve().id;
    await store.create(done, REQUEST, INPUT);
    await store.update(done, () => ({ state: 'done', finishedAt: new Date().toISOString() }));
    await store.update(done, () => ({ state: 'queued' }));
    assert.equal(store.read(done)?.state, 'done');
  });

  it('a cancel whose first look is stale keeps the end a worker wrote before the marker', async () => {
    // the worker's "done" lands between the cancel's first look (running) and its marker
    class StaleFirstLook extends JobStore {
      override read(id: string) {
        const record = super.read(id);
        return record && { ...record, state: 'running' as const };
      }
    }
    const stale = new StaleFirstLook(root);
    const { id } = stale.reserve();
    await stale.create(id, REQUEST, INPUT);
    await store.update(id, () => ({ state: 'done', finishedAt: new Date().toISOString() }));
    const answer = await stale.cancel(id);
    assert.equal(answer?.state, 'done');
    assert.equal(store.isCancelled(id), false, 'the marker is taken back');
    assert.equal(store.read(id)?.state, 'done');
  });

  it('sweeps finished jobs older than keep-hours and uploads that never became a job, and nothing else', async () => {
    const now = Date.now();
    const old = store.reserve().id;
    await store.create(old, REQUEST, INPUT);
    await store.update(old, () => ({ state: 'done', finishedAt: new Date(now - 5 * HOUR).toISOString() }));
    const recent = store.reserve().id;
    await store.create(recent, REQUEST, INPUT);
    await store.update(recent, () => ({ state: 'failed', finishedAt: new Date(now - HOUR).toISOString() }));
    const queued = store.reserve().id;
    await store.create(queued, REQUEST, INPUT);
    const abandoned = store.reserve().id;
    const stamp = new Date(now - 2 * HOUR);
    utimesSync(store.dir(abandoned), stamp, stamp);
    const uploading = store.reserve().id;
    mkdirSync(join(root, 'jobs', 'not-a-job'));
    const removed = store.sweep(4, now);
    assert.deepEqual(removed.sort(), [old, abandoned].sort());
    for (const id of [recent, queued, uploading]) assert.ok(existsSync(store.dir(id)), id);
    assert.ok(existsSync(join(root, 'jobs', 'not-a-job')), 'folders that are not jobs are left alone');
  });
});

describe('SessionStore: MONAI Label sessions expire an hour after their last use', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'medparse-sessions-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads a fresh session, not an expired one, and sweeps only the expired', async () => {
    const sessions = new SessionStore(root);
    const fresh = sessions.reserve().id;
    await sessions.create(fresh, INPUT);
    const later = Date.now() + (SESSION_EXPIRY_S + 60) * 1000;
    assert.ok(sessions.read(fresh));
    assert.equal(sessions.read(fresh, later), undefined);
    assert.equal(sessions.read('../jobs'), undefined);
    const uploading = sessions.reserve().id;
    sessions.sweep();
    assert.ok(existsSync(join(root, 'sessions', fresh)) && existsSync(join(root, 'sessions', uploading)));
    sessions.sweep(later);
    assert.equal(existsSync(join(root, 'sessions', fresh)), false);
  });
});
