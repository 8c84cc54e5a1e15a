import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestModel } from '../helpers/test-model.js';
import { startService, type RunningService } from './helpers.js';

describe('CORS (medparse serve --cors): the viewer hosted elsewhere or opened from a file', () => {
  let root = '';
  let running: RunningService;
  const VIEWER = 'https://viewer.example.org';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-cors-'));
    running = await startService({
      dataDir: join(root, 'data'),
      modelDir: writeTestModel(join(root, 'model')),
      apiKey: 'secret',
      corsOrigins: [VIEWER, 'null'],
    });
  });

  after(async () => {
    await running.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers a preflight without the key, naming the origin, methods and the authorization header', async () => {
    const response = await fetch(`${running.url}/v1/jobs`, {
      method: 'OPTIONS',
      headers: {
        origin: VIEWER,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), VIEWER);
    assert.match(response.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(response.headers.get('access-control-allow-headers') ?? '', /authorization/);
  });

  it('lets listed origins read answers (file:// pages are "null"), still behind the key, and no others', async () => {
    const ask = (origin: string, key = 'secret') =>
      fetch(`${running.url}/v1/models`, { headers: { origin, authorization: `Bearer ${key}` } });
    for (const origin of [VIEWER, 'null']) {
      const response = await ask(origin);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('access-control-allow-origin'), origin);
    }
    assert.equal((await ask(VIEWER, 'wrong')).status, 401);
    assert.equal((await ask('https://elsewhere.example')).headers.get('access-control-allow-origin'), null);
  });
});
