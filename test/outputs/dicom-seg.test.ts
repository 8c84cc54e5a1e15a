import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Vec3 } from '../../src/core/affine.js';
import { MedparseError } from '../../src/core/errors.js';
import { makePhantomCt, phantomLabelAt } from '../../src/core/phantom.js';
import type { Volume } from '../../src/core/volume.js';
import { encodeDicomFile, encodeDicomFileWithPixels } from '../../src/io/dicom/dcmjs.js';
import { readDicomSeries } from '../../src/io/dicom/index.js';
import { makeLabelTable } from '../../src/io/label-table.js';
import { parseDicomSeg, verifyDicomSeg } from '../../src/outputs/dicom-seg-check.js';
import type { ParsedSeg } from '../../src/outputs/dicom-seg-check.js';
import {
  decimalString,
  encodeDicomSeg,
  encodeDicomSegMasks,
  SEGMENTATION_STORAGE_UID,
} from '../../src/outputs/dicom-seg.js';
import { writeDicomSeg } from '../../src/outputs/dicom-seg-file.js';
import type { SegLabelEntry } from '../../src/outputs/seg-codes.js';
import { LOCAL_CODING_SCHEME, srgbToDicomLab } from '../../src/outputs/seg-codes.js';
import { ORIENTATIONS, writeSeries, writeSeriesPerSlice } from '../io/dicom/make-series.js';
import type { SeriesSpec } from '../io/dicom/make-series.js';
import { makeTempDir, withTempDir } from '../helpers/volumes.js';

const LIVER_LESION = 7;
const GALLBLADDER = 8;
const IVC = 9;
const HAEMATOMA = 10;

/** Phantom organs (body left out), a lesion inside the liver and a few voxels of two more labels. */
function phantomLabels(image: Volume): Volume {
  const [nx, ny, nz] = image.dims;
  const data = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const label = phantomLabelAt(i / nx, j / ny, k / nz);
        const inLesion = Math.hypot(i / nx - 0.3, j / ny - 0.45, k / nz - 0.55) < 0.05;
        data[i + nx * (j + ny * k)] = inLesion ? LIVER_LESION : label > 1 ? label : 0;
      }
    }
  }
  const at = (i: number, j: number, k: number) => i + nx * (j + ny * k);
  data[at(nx - 1, 0, 0)] = IVC; // the last pixel of the first slice, to catch edge-bit errors
  data[at(0, ny - 1, nz - 1)] = HAEMATOMA;
  data[at(1, ny - 1, nz - 1)] = HAEMATOMA;
  return { ...image, data, meta: { ...image.meta } };
}

const PHANTOM_TABLE = makeLabelTable([
  { value: 2, name: 'Liver', id: 'liver', color: [221, 130, 101], snomed: { code: '10200004', meaning: 'Liver' } },
  { value: 3, name: 'Spleen', id: 'spleen', color: [157, 108, 162], snomed: { code: '78961009', meaning: 'Spleen' } },
  {
    value: 4,
    name: 'Right kidney',
    id: 'kidney_right',
    color: [185, 102, 83],
    snomed: { code: '9846003', meaning: 'Right kidney' },
  },
  {
    value: 5,
    name: 'Left kidney',
    id: 'kidney_left',
    color: [185, 102, 83],
    snomed: { code: '18639004', meaning: 'Left kidney' },
  },
  { value: 6, name: 'Vertebra', id: 'vertebra', color: [241, 214, 145] },
  { value: LIVER_LESION, name: 'Liver lesion', id: 'liver_lesion', color: [255, 255, 0] },
  { value: GALLBLADDER, name: 'Gallbladder', id: 'gallbladder', color: [139, 150, 98] },
  { value: IVC, name: 'Inferior vena cava', id: 'inferior_vena_cava', color: [0, 151, 206] },
]);

/** A table entry that states its category instead of leaving it to the id. */
const HAEMATOMA_ENTRY: SegLabelEntry = {
  value: HAEMATOMA,
  name: 'Haematoma',
  id: 'haematoma',
  color: [200, 0, 0],
  category: 'morphologically-abnormal-structure',
};
const PHANTOM_SEG_TABLE = { labels: [...PHANTOM_TABLE.labels, HAEMATOMA_ENTRY] };

function segmentByLabel(seg: ParsedSeg, label: string) {
  const segment = seg.segments.find((s) => s.label === label);
  assert.ok(segment, `no segment ${label}`);
  return segment;
}

function slicesWith(labels: Volume, value: number): number {
  const [nx, ny, nz] = labels.dims;
  let count = 0;
  for (let k = 0; k < nz; k++) if (labels.data.subarray(k * nx * ny, (k + 1) * nx * ny).includes(value)) count++;
  return count;
}

describe('DICOM SEG from a non-DICOM source (phantom)', () => {
  // 45 x 38 = 1710 pixels per frame: not a multiple of 8, so frames start mid-byte.
  const image = makePhantomCt({ dims: [45, 38, 20] });
  const labels = phantomLabels(image);
  const bytes = encodeDicomSeg(image, labels, PHANTOM_SEG_TABLE, {
    algorithmName: 'test-model',
    seriesDescription: 'phantom seg',
  });
  const seg = parseDicomSeg(bytes);

  it('passes the reader-side check: segments, codes, frames, positions and bits', () => {
    assert.deepEqual(verifyDicomSeg(bytes, image, labels, PHANTOM_SEG_TABLE), []);
  });

  it('holds one segment per entry with voxels, in table order, and one frame per slice it touches', () => {
    assert.equal(seg.sopClassUid, SEGMENTATION_STORAGE_UID);
    assert.deepEqual(
      seg.segments.map((s) => s.label),
      ['Liver', 'Spleen', 'Right kidney', 'Left kidney', 'Vertebra', 'Liver lesion', 'Inferior vena cava', 'Haematoma'],
    );
    assert.deepEqual(
      seg.segments.map((s) => s.number),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    const expectedFrames = [2, 3, 4, 5, 6, LIVER_LESION, IVC, HAEMATOMA].reduce(
      (sum, value) => sum + slicesWith(labels, value),
      0,
    );
    assert.equal(seg.numberOfFrames, expectedFrames);
    assert.equal(seg.frames.length, expectedFrames);
    assert.deepEqual([seg.rows, seg.columns], [38, 45]);
    assert.ok(seg.segments.every((s) => s.algorithmType === 'AUTOMATIC' && s.algorithmName === 'test-model'));
  });

  it('codes segments: SNOMED when known, the local scheme otherwise, lesions as abnormal, sides as modifiers', () => {
    const liver = segmentByLabel(seg, 'Liver');
    assert.deepEqual(liver.type, { value: '10200004', scheme: 'SCT', meaning: 'Liver' });
    assert.deepEqual(liver.category, { value: '123037004', scheme: 'SCT', meaning: 'Anatomical Structure' });
    assert.equal(liver.typeModifier, undefined);
    assert.deepEqual(segmentByLabel(seg, 'Left kidney').typeModifier, {
      value: '7771000',
      scheme: 'SCT',
      meaning: 'Left',
    });
    assert.deepEqual(segmentByLabel(seg, 'Right kidney').typeModifier, {
      value: '24028007',
      scheme: 'SCT',
      meaning: 'Right',
    });
    assert.deepEqual(segmentByLabel(seg, 'Vertebra').type, {
      value: 'vertebra',
      scheme: LOCAL_CODING_SCHEME,
      meaning: 'Vertebra',
    });
    const abnormal = { value: '49755003', scheme: 'SCT', meaning: 'Morphologically Abnormal Structure' };
    assert.deepEqual(segmentByLabel(seg, 'Liver lesion').category, abnormal);
    assert.deepEqual(segmentByLabel(seg, 'Haematoma').category, abnormal);
    // An id longer than CodeValue's 16 characters goes in LongCodeValue.
    const ivcItem = seg.dataset.items('SegmentSequence')[6].items('SegmentedPropertyTypeCodeSequence')[0];
    assert.equal(ivcItem.string('LongCodeValue'), 'inferior_vena_cava');
    assert.equal(ivcItem.string('CodeValue'), undefined);
    const scheme = seg.dataset.items('CodingSchemeIdentificationSequence')[0];
    assert.equal(scheme.string('CodingSchemeDesignator'), LOCAL_CODING_SCHEME);
    assert.deepEqual(segmentByLabel(seg, 'Liver').cielab, srgbToDicomLab([221, 130, 101]));
  });

  it('writes geometry from the affine in LPS and makes new UIDs in the 2.25 arc', () => {
    // Phantom: RAS x = -2.5 i + 55, y = -2.5 j + 46.25, z = 4 k - 38, so LPS = (2.5 i - 55, 2.5 j - 46.25, 4 k - 38).
    assert.deepEqual(seg.orientation, [1, 0, 0, 0, 1, 0]);
    assert.deepEqual(seg.pixelSpacing, [2.5, 2.5]);
    for (const frame of seg.frames) {
      const k = (frame.dimensionIndexValues?.[1] ?? 0) - 1;
      assert.deepEqual(frame.position, [-55, -46.25, 4 * k - 38]);
      assert.equal(frame.sourceInstanceUid, undefined);
    }
    for (const uid of [
      seg.studyInstanceUid,
      seg.frameOfReferenceUid,
      seg.dataset.string('SeriesInstanceUID'),
      seg.dataset.string('SOPInstanceUID'),
    ]) {
      assert.match(uid ?? '', /^2\.25\.\d{1,39}$/);
    }
    assert.deepEqual(seg.referencedSeries, []);
  });

  it('is caught by the check when a bit or a voxel is wrong', () => {
    const tampered = bytes.slice();
    tampered[tampered.length - 300] ^= 0x10;
    assert.ok(verifyDicomSeg(tampered, image, labels, PHANTOM_SEG_TABLE).some((p) => /pixels differ/.test(p)));
    const changed = { ...labels, data: labels.data.slice() };
    changed.data[changed.data.indexOf(3)] = 0;
    assert.ok(verifyDicomSeg(bytes, image, changed, PHANTOM_SEG_TABLE).length > 0);
  });

  it('writes the file atomically with writeDicomSeg', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'out', 'segmentation.dcm');
      await writeDicomSeg(path, image, labels, PHANTOM_SEG_TABLE);
      assert.deepEqual(verifyDicomSeg(new Uint8Array(await readFile(path)), image, labels, PHANTOM_SEG_TABLE), []);
    });
  });
});

describe('DICOM SEG from a DICOM series', () => {
  const dir = { path: '', cleanup: () => {} };
  before(() => Object.assign(dir, makeTempDir()));
  after(() => dir.cleanup());

  const TABLE = makeLabelTable([
    { value: 1, name: 'Liver', id: 'liver', color: [221, 130, 101], snomed: { code: '10200004', meaning: 'Liver' } },
    {
      value: 2,
      name: 'Left kidney',
      id: 'kidney_left',
      color: [185, 102, 83],
      snomed: { code: '18639004', meaning: 'Left kidney' },
    },
    { value: 3, name: 'Spleen', id: 'spleen', color: [157, 108, 162] },
  ]);

  /** Liver on a diagonal band of every slice, a kidney block on slices 2-4, no spleen. */
  function patternLabels(image: Volume): Volume {
    const [nx, ny, nz] = image.dims;
    const data = new Uint16Array(nx * ny * nz);
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          if ((i + j + k) % 5 === 0 && i < 6) data[i + nx * (j + ny * k)] = 1;
          if (i >= 6 && j >= 4 && k >= 2 && k <= 4) data[i + nx * (j + ny * k)] = 2;
        }
      }
    }
    return { ...image, data, meta: { ...image.meta } };
  }

  const specs: Array<[string, SeriesSpec]> = [
    ['axial, instances numbered from the far end', { orientation: 'axial', reverseInstanceOrder: true }],
    ['oblique', { orientation: 'oblique' }],
    ['sagittal', { orientation: 'sagittal' }],
  ];
  for (const [name, extra] of specs) {
    it(`references the source instance of each slice (${name})`, async () => {
      const spec: SeriesSpec = {
        columns: 11,
        rows: 9,
        slices: 7,
        pixelSpacing: [0.75, 0.5],
        sliceSpacing: 2.5,
        origin: [-120.5, -98.25, 40],
        subfolder: name.replace(/\W+/g, '-'),
        ...extra,
      };
      const series = await writeSeries(dir.path, spec);
      const source = await readDicomSeries(series.folder);
      const labels = patternLabels(source);
      const bytes = encodeDicomSeg(source, labels, TABLE);
      assert.deepEqual(verifyDicomSeg(bytes, source, labels, TABLE), []);

      // Independently of the reader: the generator's UIDs, positions and orientation.
      const seg = parseDicomSeg(bytes);
      assert.equal(seg.studyInstanceUid, series.studyUid);
      assert.equal(seg.frameOfReferenceUid, `${series.studyUid}.1`.slice(0, 64));
      assert.equal(seg.referencedSeries.length, 1);
      assert.equal(seg.referencedSeries[0].seriesUid, series.seriesUid);
      assert.deepEqual([...seg.referencedSeries[0].instanceUids].sort(), [...series.sopInstanceUids].sort());
      assert.equal(seg.dataset.string('PatientID'), 'SYNTHETIC-001');
      assert.equal(seg.dataset.string('PatientName'), 'Synthetic^Phantom');
      assert.deepEqual(
        seg.segments.map((s) => s.label),
        ['Liver', 'Left kidney'],
      );
      const cosines = ORIENTATIONS[spec.orientation as keyof typeof ORIENTATIONS];
      assert.ok(
        seg.orientation?.every((v, i) => Math.abs(v - cosines[i]) < 1e-9),
        `${seg.orientation}`,
      );
      assert.deepEqual(seg.pixelSpacing, [0.75, 0.5]);
      const normal = cross(cosines.slice(0, 3), cosines.slice(3, 6));
      for (const frame of seg.frames) {
        const k = (frame.dimensionIndexValues?.[1] ?? 0) - 1;
        const expected = [0, 1, 2].map((a) => (spec.origin as Vec3)[a] + normal[a] * k * 2.5);
        assert.ok(
          frame.position && frame.position.every((v, a) => Math.abs(v - expected[a]) < 1e-3),
          `slice ${k}: ${frame.position} vs ${expected}`,
        );
        assert.equal(frame.sourceInstanceUid, series.sopInstanceUids[k]);
      }
      assert.equal(seg.frames.length, 7 + 3);
    });
  }

  it('references each slice under its own series for a cine stored a series per slice position', async () => {
    const cine = await writeSeriesPerSlice(join(dir.path, 'per-slice'), {
      orientation: 'oblique',
      modality: 'MR',
      columns: 11,
      rows: 9,
      slices: 5,
      timePoints: 2,
    });
    const source = await readDicomSeries(join(dir.path, 'per-slice'), { volume: 1 });
    const labels = patternLabels(source);
    const bytes = encodeDicomSeg(source, labels, TABLE);
    assert.deepEqual(verifyDicomSeg(bytes, source, labels, TABLE), []);
    const seg = parseDicomSeg(bytes);
    assert.deepEqual(
      seg.referencedSeries.map((s) => [s.seriesUid, s.instanceUids]),
      cine.seriesUids.map((uid, k) => [uid, [cine.sopInstanceUids[1][k]]]),
    );
    // the check catches a SEG that names every instance under the first series, as a one-series SEG would
    const dicom = source.meta.dicom;
    assert.ok(dicom);
    const oneSeries = { ...dicom, sliceSeriesUids: undefined };
    const flattened = encodeDicomSeg({ ...source, meta: { ...source.meta, dicom: oneSeries } }, labels, TABLE);
    assert.match(verifyDicomSeg(flattened, source, labels, TABLE).join(' '), /under series .* not /);
  });
});

describe('DICOM SEG edge cases', () => {
  const image = makePhantomCt({ dims: [16, 12, 6] });
  const empty = { ...image, data: new Uint8Array(16 * 12 * 6) };

  it('still writes a valid SEG when nothing was found: every entry, one empty frame', () => {
    const bytes = encodeDicomSeg(image, empty, PHANTOM_TABLE);
    const seg = parseDicomSeg(bytes);
    assert.equal(seg.segments.length, PHANTOM_TABLE.labels.length);
    assert.equal(seg.numberOfFrames, 1);
    assert.ok(seg.frameMask(0).every((bit) => bit === 0));
    assert.deepEqual(verifyDicomSeg(bytes, image, empty, PHANTOM_TABLE), []);
  });

  it('says SegmentsOverlap YES only when two masks share a voxel, with or without their boxes', () => {
    const [nx, ny] = image.dims;
    const at = (i: number, j: number, k: number) => i + nx * (j + ny * k);
    const a = new Uint8Array(image.data.length);
    const b = new Uint8Array(image.data.length);
    for (let k = 1; k < 4; k++) for (let j = 2; j < 8; j++) for (let i = 2; i < 7; i++) a[at(i, j, k)] = 200;
    for (let k = 2; k < 5; k++) for (let j = 2; j < 8; j++) for (let i = 7; i < 12; i++) b[at(i, j, k)] = 150;
    const [first, second] = PHANTOM_TABLE.labels;
    const overlap = (boxes: boolean) => {
      const masks = [
        { entry: first, data: a, ...(boxes ? { box: [2, 2, 1, 6, 7, 3] as const } : {}) },
        { entry: second, data: b, ...(boxes ? { box: [6, 2, 2, 11, 7, 4] as const } : {}) },
      ];
      return parseDicomSeg(encodeDicomSegMasks(image, masks)).dataset.string('SegmentsOverlap');
    };
    // side by side (columns 2 to 6 and 7 to 11): the masks touch but share no voxel
    assert.equal(overlap(true), 'NO');
    assert.equal(overlap(false), 'NO');
    b[at(6, 7, 3)] = 90;
    assert.equal(overlap(true), 'YES');
    assert.equal(overlap(false), 'YES');
  });

  it('appends the pixel data as dcmjs writes it, to the byte', () => {
    const dataset = {
      SOPClassUID: SEGMENTATION_STORAGE_UID,
      SOPInstanceUID: '1.2.3.4',
      Rows: 3,
      Columns: 4,
      SegmentLabel: 'x',
    };
    const pixels = new Uint8Array([1, 2, 3, 250, 7, 0]);
    const byDcmjs = encodeDicomFile({ ...dataset, PixelData: [pixels.slice().buffer], _vrMap: { PixelData: 'OB' } });
    assert.deepEqual(encodeDicomFileWithPixels(dataset, pixels), byDcmjs);
  });

  it('refuses an empty label table and a label map on another grid', () => {
    assert.throws(
      () => encodeDicomSeg(image, empty, makeLabelTable([])),
      (e: unknown) => e instanceof MedparseError && e.code === 'EMPTY_INPUT',
    );
    const other = { ...empty, dims: [16, 12, 5] as Vec3, data: new Uint8Array(16 * 12 * 5) };
    assert.throws(
      () => encodeDicomSeg(image, other, PHANTOM_TABLE),
      (e: unknown) => e instanceof MedparseError && e.code === 'INVALID_DIMENSIONS',
    );
  });

  it('converts sRGB to DICOM CIELab (white, black, red)', () => {
    assert.deepEqual(srgbToDicomLab([255, 255, 255]), [65535, 32896, 32896]);
    assert.deepEqual(srgbToDicomLab([0, 0, 0]), [0, 32896, 32896]);
    // sRGB red is L* 53.24, a* 80.09, b* 67.20 (D65).
    const [l, a, b] = srgbToDicomLab([255, 0, 0]);
    assert.ok(Math.abs((l * 100) / 65535 - 53.24) < 0.05);
    assert.ok(Math.abs((a * 255) / 65535 - 128 - 80.09) < 0.1);
    assert.ok(Math.abs((b * 255) / 65535 - 128 - 67.2) < 0.1);
  });

  it('formats decimal strings in 16 characters without losing millimetre precision', () => {
    for (const value of [-123.45678901234567, 1 / 3, 0.1 + 0.2, 1e-17, -98765.4321]) {
      const text = decimalString(value);
      assert.ok(text.length <= 16, text);
      assert.ok(Math.abs(Number(text) - value) < 1e-9, `${value} -> ${text}`);
    }
  });
});

function cross(a: number[], b: number[]): number[] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
