import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Vec3 } from '../../src/core/affine.js';
import { readDicomSeries } from '../../src/io/dicom/index.js';
import { readVolume } from '../../src/io/read.js';
import { parseDicomSeg } from '../../src/outputs/dicom-seg-check.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { writeResults } from '../../src/tasks/output-folder.js';
import { readReport } from '../../src/tasks/report.js';
import { GEOMETRY_CASES } from '../helpers/geometry-cases.js';
import { sharedDir, SHARED_MISSING } from '../helpers/shared.js';
import { writeTestModel } from '../helpers/test-model.js';
import { maxAbsDifference, withTempDir } from '../helpers/volumes.js';
import { writeSeries, writeSeriesPerSlice } from '../io/dicom/make-series.js';
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

describe('results of a gantry-tilted series (15 degrees) stay on its acquired slices', () => {
  const tilt = (15 * Math.PI) / 180;
  // 24 x 20 pixels of 2.5 x 2 mm, 8 slices 4 mm apart along the table (z), at the test network's working
  // spacing: the network works on the tilt straightened (rows, columns and their normal), interpolated
  const common = { columns: 24, rows: 20, slices: 8, pixelSpacing: [2, 2.5] as [number, number] };
  const step: Vec3 = [0, 0, 4];
  const origin: Vec3 = [-30, -20, 50];
  // a 150 HU sphere (the test network's kidney band is 110-190 HU) of radius 9 mm in 40 HU, placed in LPS
  // world space: voxel (i, j, k) lies at origin + 2.5 i row + 2 j column + k step
  const centre = [0, -2, 66];
  const column = [0, Math.cos(tilt), Math.sin(tilt)];
  const world = (i: number, j: number, k: number) =>
    [0, 1, 2].map((a) => origin[a] + 2.5 * i * (a === 0 ? 1 : 0) + 2 * j * column[a] + k * step[a]);
  const fromCentre = (i: number, j: number, k: number) => Math.hypot(...world(i, j, k).map((v, a) => v - centre[a]));

  it('masks hold the anatomy where it is; NIfTI and DICOM SEG carry the sheared geometry', () =>
    withTempDir(async (dir) => {
      const modelDir = writeTestModel(join(dir, 'model'), [2.5, 2, 4]);
      const tilted = await writeSeries(join(dir, 'tilted'), {
        ...common,
        orientation: [1, 0, 0, 0, Math.cos(tilt), Math.sin(tilt)],
        step,
        origin,
        voxel: (i, j, k) => (fromCentre(i, j, k) <= 9 ? 150 : 40),
      });
      const volume = await readDicomSeries(tilted.folder);
      const engine = ParseEngine.load(modelDir, { threads: 1, keepIslands: true });
      try {
        const result = await engine.segment(volume, 'kidney');
        const answer = result.prompts[0];
        assert.equal(answer.status, 'present');
        assert.ok(answer.probability);
        // on the acquired grid, the mask is the sphere's voxels but at its surface
        let [truth, wrong] = [0, 0];
        for (let k = 0; k < 8; k++)
          for (let j = 0; j < 20; j++)
            for (let i = 0; i < 24; i++) {
              const d = fromCentre(i, j, k);
              truth += d <= 9 ? 1 : 0;
              if (d <= 9 === answer.probability[i + 24 * (j + 20 * k)] > 0) continue;
              wrong++;
              assert.ok(Math.abs(d - 9) < 2, `voxel ${i} ${j} ${k}, ${d.toFixed(2)} mm from the centre`);
            }
        assert.ok(wrong <= 0.1 * truth, `${wrong} of ${truth} voxels differ`);

        const out = join(dir, 'out');
        const written = await writeResults(out, result, engine.vocabulary, {
          task: 'segment',
          medparseVersion: 'test',
          preview: false,
        });
        const maskFile = written.find((f) => f.endsWith('.nii.gz') && f !== 'labels.nii.gz') ?? '';
        const mask = await readVolume(join(out, maskFile));
        assert.deepEqual(mask.dims, volume.dims);
        mask.affine.forEach((v, i) =>
          assert.ok(Math.abs(v - volume.affine[i]) < 1e-5, `affine[${i}] ${v} vs ${volume.affine[i]}`),
        );
        // sform holds the shear; a quaternion cannot, so qform_code is 0 rather than a different, rigid grid
        const header = gunzipSync(readFileSync(join(out, maskFile)));
        const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
        assert.equal(view.getInt16(252, true), 0, 'qform_code');
        assert.equal(view.getInt16(254, true), 1, 'sform_code');

        const report = readReport(out);
        assert.match(
          report.input.notes?.join('\n') ?? '',
          /^gantry tilt 15\.0 degrees: the networks see the scan straightened; masks are on the acquired/,
        );
        // |det| of the sheared affine, 3.4 % under the product of its column lengths
        const voxelMl = (2.5 * 2 * 4 * Math.cos(tilt)) / 1000;
        const statistics = answer.statistics;
        assert.ok(statistics && Math.abs(statistics.volumeMl - statistics.voxels * voxelMl) < 1e-9);
        const evidence = answer.evidence;
        assert.ok(evidence && Math.abs(evidence.volumeMl - evidence.voxels * voxelMl) < 1e-9, 'evidence volume');
        assert.ok(Math.abs((report.prompts[0].statistics?.volume_ml ?? 0) - statistics.voxels * voxelMl) <= 5e-4);

        const seg = parseDicomSeg(new Uint8Array(readFileSync(join(out, 'segmentation.dcm'))));
        assert.ok(seg.frames.length > 0);
        for (const frame of seg.frames) {
          const k = (frame.dimensionIndexValues?.[1] ?? 0) - 1;
          const source = origin.map((o, axis) => o + k * step[axis]); // slice k's ImagePositionPatient
          assert.ok(
            frame.position && maxAbsDifference(frame.position, source) < 1e-6,
            `frame of slice ${k} at ${frame.position?.join('\\')}, the slice is at ${source.join('\\')}`,
          );
          assert.equal(frame.sourceInstanceUid, tilted.sopInstanceUids[k]);
        }
      } finally {
        await engine.dispose();
      }
    }));
});
