import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { readDicomSeries } from '../../src/io/dicom/index.js';
import { readVolume } from '../../src/io/read.js';
import { parseDicomSeg } from '../../src/outputs/dicom-seg-check.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { writeResults } from '../../src/tasks/output-folder.js';
import { readReport } from '../../src/tasks/report.js';
import { GEOMETRY_CASES } from '../helpers/geometry-cases.js';
import { sharedDir, SHARED_MISSING } from '../helpers/shared.js';
import { writeTestModel } from '../helpers/test-model.js';
import { withTempDir } from '../helpers/volumes.js';
import { writeSeriesPerSlice } from '../io/dicom/make-series.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const shared = sharedDir();

describe('outputs keep the input grid and affine exactly', { skip: shared ? false : SHARED_MISSING }, () => {
  let modelDir: string;
  let engine: ParseEngine;
  before(() => {
    modelDir = writeTestModel(mkdtempSync(join(tmpdir(), 'medparse-model-')));
    engine = ParseEngine.load(modelDir, { threads: 1 });
  });
  after(async () => {
    await engine.dispose();
    rmSync(modelDir, { recursive: true, force: true });
  });

  for (const { path, prompt, what } of GEOMETRY_CASES) {
    it(`${what} (${path})`, () =>
      withTempDir(async (dir) => {
        const input = join(shared ?? '', 'data', path);
        const volume = await readVolume(input);
        const result = await engine.segment(volume, prompt);
        assert.ok(
          result.prompts.some((p) => p.status === 'present'),
          'something to write',
        );
        const written = await writeResults(dir, result, engine.vocabulary, {
          task: 'segment',
          medparseVersion: 'test',
          preview: false,
        });
        for (const file of written.filter((f) => f.endsWith('.nii.gz'))) {
          const mask = await readVolume(join(dir, file));
          assert.deepEqual(mask.dims, volume.dims, `${file} dims`);
          mask.affine.forEach((v, i) =>
            assert.ok(Math.abs(v - volume.affine[i]) < 1e-4, `${file} affine[${i}] ${v} vs ${volume.affine[i]}`),
          );
          if (/\.nii(\.gz)?$/.test(path)) {
            // From NIfTI to NIfTI the geometry fields must be the input's own bytes.
            const a = gunzipSync(readFileSync(input));
            const b = gunzipSync(readFileSync(join(dir, file)));
            assert.deepEqual(b.subarray(252, 344), a.subarray(252, 344), `${file} qform/sform bytes`);
            assert.deepEqual(b.subarray(80, 92), a.subarray(80, 92), `${file} pixdim`);
          }
        }
        const report = readReport(dir);
        assert.deepEqual(report.input.dims, volume.dims);
        assert.equal(report.schema_version, 1);
        // the test model calibrates presence, and the report says so for every answered prompt
        for (const { evidence } of report.prompts) if (evidence) assert.equal(evidence.calibrated, true);
      }));
  }
});

describe('results of a cine read a series per slice position', () => {
  it('list the series of every slice in report.json and reference each in the DICOM SEG', () =>
    withTempDir(async (dir) => {
      const modelDir = writeTestModel(join(dir, 'model'));
      const cine = await writeSeriesPerSlice(join(dir, 'dicom'), {
        columns: 24,
        rows: 20,
        slices: 3,
        timePoints: 2,
        pixelSpacing: [2, 2],
      });
      const volume = await readDicomSeries(join(dir, 'dicom'), { volume: 1 });
      const engine = ParseEngine.load(modelDir, { threads: 1, keepIslands: true });
      try {
        // the generator's pattern (-900 to 272 HU here) crosses the test network's kidney band (110-190 HU)
        const result = await engine.segment(volume, 'kidney');
        assert.equal(result.prompts[0].status, 'present');
        const out = join(dir, 'out');
        const written = await writeResults(out, result, engine.vocabulary, {
          task: 'segment',
          medparseVersion: 'test',
          preview: false,
        });
        assert.ok(written.includes('segmentation.dcm'));
        const report = readReport(out);
        assert.deepEqual(report.input.dicom?.slice_series_instance_uids, cine.seriesUids);
        const seg = parseDicomSeg(new Uint8Array(readFileSync(join(out, 'segmentation.dcm'))));
        assert.deepEqual(
          seg.referencedSeries.map((s) => s.seriesUid),
          cine.seriesUids,
        );
      } finally {
        await engine.dispose();
      }
    }));
});
