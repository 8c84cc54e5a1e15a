/**
 * The results built in memory (result-files.ts: what the in-browser engine offers as downloads) are the
 * files the Node writer puts in a results folder: the same report.json (but its time), labels.json and,
 * once inflated, the same NIfTI bytes of labels.nii.gz and of every mask.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { makePhantomCt } from '../../src/core/phantom.js';
import { checkDocument } from '../../src/io/documents.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { writeResults } from '../../src/tasks/output-folder.js';
import { readReport, type Report } from '../../src/tasks/report.js';
import { encodeResultFiles } from '../../src/tasks/result-files.js';
import { parseDicomSeg } from '../../src/outputs/dicom-seg-check.js';
import type { ParseResult } from '../../src/tasks/results.js';
import { writeTestModel } from '../helpers/test-model.js';
import { makeTempDir, withTempDir } from '../helpers/volumes.js';

describe('encodeResultFiles builds the files writeResults writes', () => {
  const model = makeTempDir();
  let engine: ParseEngine;
  let result: ParseResult;
  before(async () => {
    engine = ParseEngine.load(writeTestModel(model.path), { threads: 1 });
    result = await engine.segment(makePhantomCt({ dims: [64, 64, 32] }), 'kidneys, left kidney, brain, banana');
  });
  after(async () => {
    await engine.dispose();
    model.cleanup();
  });

  for (const task of ['segment', 'detect'] as const)
    it(`for ${task}`, () =>
      withTempDir(async (dir) => {
        const options = { task, medparseVersion: '9.9.9', dicomSeg: true };
        const written = await writeResults(join(dir, 'out'), result, engine.vocabulary, { ...options, preview: false });
        const built = await encodeResultFiles(result, engine.vocabulary, options, async (b) => gzipSync(b));
        const names = [...built.files.keys()].sort();
        assert.deepEqual(names, [
          'kidney.nii.gz',
          'kidney_left.nii.gz',
          'labels.json',
          'labels.nii.gz',
          'report.json',
          'segmentation.dcm',
        ]);
        assert.deepEqual(
          names,
          written.filter((name) => !name.startsWith('.')).sort(),
          'the same files (no preview here)',
        );
        for (const name of names.filter((n) => n.endsWith('.nii.gz')))
          assert.deepEqual(
            gunzipSync(built.files.get(name) ?? new Uint8Array()),
            gunzipSync(readFileSync(join(dir, 'out', name))),
            name,
          );
        // the SEG: new UIDs each time, otherwise the same segments and frames
        const segFile = readFileSync(join(dir, 'out', 'segmentation.dcm'));
        const a = parseDicomSeg(built.files.get('segmentation.dcm') ?? new Uint8Array());
        const b = parseDicomSeg(new Uint8Array(segFile));
        assert.deepEqual(a.segments, b.segments);
        assert.equal(a.numberOfFrames, b.numberOfFrames);
        assert.deepEqual(
          a.frames.map((f) => f.position),
          b.frames.map((f) => f.position),
        );
        assert.ok(a.segments.length === 2 && a.numberOfFrames > 0);
        const table = new TextDecoder().decode(built.files.get('labels.json'));
        assert.equal(table, readFileSync(join(dir, 'out', 'labels.json'), 'utf8'));
        assert.deepEqual(JSON.parse(table), built.table);
        const report = checkDocument<Report>(
          'report',
          JSON.parse(new TextDecoder().decode(built.files.get('report.json'))),
          'report.json',
        );
        const onDisk = readReport(join(dir, 'out'));
        assert.deepEqual({ ...report, created: '' }, { ...onDisk, created: '' });
        assert.deepEqual(report, built.report);
        assert.equal(report.task, task);
        // the instances detect lists: both kidneys are objects of "kidneys"
        assert.equal(report.prompts[0].instances.length, 2);
      }));
});
