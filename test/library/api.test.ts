import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makePhantomCt } from '../../src/core/phantom.js';
import {
  createVolume,
  isMedparseError,
  listModels,
  loadParser,
  readVolume,
  resolvePrompts,
  writeResults,
  writeVolume,
  VERSION,
  type Parser,
  type ProgressEvent,
} from '../../src/index.js';

const phantom = () => makePhantomCt({ dims: [96, 96, 48] });

describe('the library API (src/index.ts)', () => {
  let dir: string;
  let parser: Parser;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medparse-api-'));
    parser = await loadParser({ threads: 2 });
  });
  after(async () => {
    await parser.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('createVolume, writeVolume and readVolume round-trip voxels and geometry', async () => {
    const data = Int16Array.from({ length: 4 * 3 * 2 }, (_, i) => i - 10);
    const volume = createVolume({ data, dims: [4, 3, 2], spacing: [0.5, 2, 3], modality: 'CT' });
    const path = join(dir, 'small.nii.gz');
    await writeVolume(path, volume);
    const back = await readVolume(path);
    assert.deepEqual(back.dims, [4, 3, 2]);
    assert.deepEqual([...back.data], [...data]);
    assert.deepEqual(back.affine, [0.5, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1]);
  });

  test('bad arguments are MedparseErrors with one line', async () => {
    assert.throws(
      () => createVolume({ data: new Float32Array(5), dims: [2, 2, 2] }),
      (e: unknown) => isMedparseError(e) && e.code === 'INVALID_DIMENSIONS' && !e.message.includes('\n'),
    );
    await assert.rejects(writeVolume(join(dir, 'x.png'), phantom()), /name the file \.nii or \.nii\.gz/);
    await assert.rejects(parser.segment(phantom(), ' '), /no prompts given/);
  });

  test('resolvePrompts and listModels need no image', () => {
    const [liver, banana] = resolvePrompts('liver, banana');
    assert.equal(liver.status, 'resolved');
    assert.equal(liver.concepts[0].id, 'liver');
    assert.equal(banana.status, 'unknown');
    const [model] = listModels();
    assert.equal(model.name, 'medparse-default');
    assert.ok(model.networks.some((n) => n.concepts.includes('liver')));
    assert.equal(parser.model.version, model.version);
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
  });

  test('segment reports progress per stage, answers every prompt and writes a results folder', async () => {
    const events: ProgressEvent[] = [];
    const result = await parser.segment(phantom(), ['liver', 'banana'], { onProgress: (e) => events.push(e) });
    assert.deepEqual(
      result.prompts.map((p) => p.text),
      ['liver', 'banana'],
    );
    assert.ok(['present', 'absent'].includes(result.prompts[0].status), result.prompts[0].status);
    assert.equal(typeof result.prompts[0].score, 'number');
    assert.equal(result.prompts[1].status, 'unknown');
    assert.ok(events.some((e) => e.stage === 'inference' && e.fraction === 1));
    const files = await writeResults(join(dir, 'out'), result);
    assert.ok(files.includes('report.json') && files.includes('labels.nii.gz'), files.join(', '));
    const report = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')) as { task: string };
    assert.equal(report.task, 'segment');
    assert.deepEqual((await readVolume(join(dir, 'out', 'labels.nii.gz'))).dims, [96, 96, 48]);
  });

  test('a signal cancels a call between batches, and the parser still answers afterwards', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    await assert.rejects(
      parser.segment(phantom(), 'liver', {
        signal: controller.signal,
        onProgress: (e) => {
          seen.push(e.stage);
          if (e.stage === 'inference') controller.abort();
        },
      }),
      (e: unknown) => e instanceof Error && e.name === 'AbortError',
    );
    // stopped at the first batch: the final inference event never came
    assert.equal(seen.filter((s) => s === 'inference').length, 1);
    await assert.rejects(parser.recognize(phantom(), { signal: AbortSignal.abort() }), { name: 'AbortError' });
    const detected = await parser.detect(phantom(), 'liver');
    assert.equal(detected.prompts.length, 1);
    const present = detected.prompts.filter((p) => p.status === 'present');
    assert.equal(detected.detections.length, present.flatMap((p) => p.instances ?? []).length);
  });
});
