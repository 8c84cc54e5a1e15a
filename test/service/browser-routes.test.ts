import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VOCABULARY_PATH } from '../../src/vocab/vocabulary-file.js';
import { writeTestModel } from '../helpers/test-model.js';
import { startService, type RunningService } from './helpers.js';

describe('GET /v1/browser/*: what the in-browser mode fetches to run the engine itself', () => {
  let root = '';
  let model = '';
  let running: RunningService;
  const get = (path: string, key = 'secret') =>
    fetch(`${running.url}/v1/browser/${path}`, { headers: { authorization: `Bearer ${key}` } });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-browser-routes-'));
    model = writeTestModel(join(root, 'model'));
    running = await startService({ dataDir: join(root, 'data'), modelDir: model, apiKey: 'secret' });
  });

  after(async () => {
    await running.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves model.json, the network files it names and the vocabulary, byte for byte', async () => {
    for (const [path, file] of [
      ['model.json', join(model, 'model.json')],
      ['files/bands.onnx', join(model, 'bands.onnx')],
      ['vocabulary.json', VOCABULARY_PATH],
    ]) {
      const response = await get(path);
      assert.equal(response.status, 200, path);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), readFileSync(file), path);
    }
  });

  it('serves nothing else of the model folder, and nothing without the key', async () => {
    for (const path of ['files/model.json', 'files/..%2Fmodel.json', 'files/missing.onnx']) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      assert.match(((await response.json()) as { error: { message: string } }).error.message, /not a network file/);
    }
    assert.equal((await get('model.json', 'wrong')).status, 401);
  });
});
