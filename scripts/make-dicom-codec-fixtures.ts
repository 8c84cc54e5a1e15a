/**
 * Regenerates test/fixtures/dicom-codecs/: small synthetic series (never patient data) written
 * natively by the tests' series generator, then compressed by independent encoders, so that the
 * reader's decoders are checked against tools medparse does not use:
 *   dcmtk   dcmcjpeg (JPEG lossless, baseline, extended), dcmcjpls (JPEG-LS), dcmdjpeg/dcmdjpls (its decoders)
 *   gdcm    gdcmconv --j2k (JPEG 2000) and gdcmconv --raw (its decoder)
 *   OpenJPH ojph_compress (HTJ2K codestreams, wrapped here in DICOM) and ojph_expand
 * For lossy syntaxes the same tool family's decoder writes a native reference next to the
 * compressed files; tests compare medparse's decode with it within the tolerance in manifest.json.
 *
 *   apt-get install dcmtk libgdcm-tools openjph-tools
 *   npm run build && node dist/scripts/make-dicom-codec-fixtures.js
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import { PACKAGE_ROOT } from '../src/core/paths.js';
import type { WritableDataset } from '../src/io/dicom/dcmjs.js';
import { encodeDicomFile } from '../src/io/dicom/dcmjs.js';
import type { SeriesSpec } from '../test/io/dicom/make-series.js';
import { writeSeries } from '../test/io/dicom/make-series.js';

const REPO_ROOT = PACKAGE_ROOT;
const TARGET = join(REPO_ROOT, 'test/fixtures/dicom-codecs');

/** One compressed copy of a case: how it was made and how close its decode must be. */
export interface FixtureEncoding {
  folder: string;
  transferSyntaxUid: string;
  encoder: string;
  /** Largest |medparse - reference| allowed, in stored units; 0 for lossless syntaxes. */
  tolerance: number;
  /** Native folder to compare with: the source for lossless, the independent decoder's output for lossy. */
  reference: string;
  /** For near-lossless syntaxes: the largest error against the source that the encoder guarantees. */
  sourceTolerance?: number;
  /** Words of the UNSUPPORTED_FORMAT error medparse must give instead of decoding. */
  refused?: string;
}

export interface FixtureCase {
  name: string;
  description: string;
  source: string;
  /** Stored units are voxels / RescaleSlope: tolerances are in stored units. */
  rescaleSlope: number;
  encodings: FixtureEncoding[];
}

type Tool = (input: string, output: string) => void;

const run = (command: string, args: string[]) =>
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });

const dcmcjpeg =
  (...options: string[]): Tool =>
  (input, output) =>
    run('dcmcjpeg', [...options, input, output]);
const dcmcjpls =
  (...options: string[]): Tool =>
  (input, output) =>
    run('dcmcjpls', [...options, input, output]);
const gdcmconv =
  (...options: string[]): Tool =>
  (input, output) =>
    run('gdcmconv', [...options, input, output]);

interface EncodingPlan {
  key: string;
  uid: string;
  encoder: string;
  encode: Tool;
  /** Decodes to native with an independent tool (lossy syntaxes only). */
  decode?: Tool;
  tolerance: number;
  sourceTolerance?: number;
  refused?: string;
}

const LOSSLESS_SV1: EncodingPlan = {
  key: 'jpeg-lossless-sv1',
  uid: '1.2.840.10008.1.2.4.70',
  encoder: 'dcmcjpeg +e1',
  encode: dcmcjpeg('+e1'),
  tolerance: 0,
};
const LOSSLESS_SV6: EncodingPlan = {
  key: 'jpeg-lossless',
  uid: '1.2.840.10008.1.2.4.57',
  encoder: 'dcmcjpeg +el +sv 6',
  encode: dcmcjpeg('+el', '+sv', '6'),
  tolerance: 0,
};
const JPEG_LS: EncodingPlan = {
  key: 'jpeg-ls',
  uid: '1.2.840.10008.1.2.4.80',
  encoder: 'dcmcjpls +el',
  encode: dcmcjpls('+el'),
  tolerance: 0,
};
const JPEG_LS_NEAR: EncodingPlan = {
  key: 'jpeg-ls-near',
  uid: '1.2.840.10008.1.2.4.81',
  encoder: 'dcmcjpls +en +md 2',
  encode: dcmcjpls('+en', '+md', '2'),
  decode: (input, output) => run('dcmdjpls', [input, output]),
  tolerance: 0,
  sourceTolerance: 2,
};
const J2K: EncodingPlan = {
  key: 'j2k',
  uid: '1.2.840.10008.1.2.4.90',
  encoder: 'gdcmconv --j2k',
  encode: gdcmconv('--j2k'),
  tolerance: 0,
};
const J2K_LOSSY: EncodingPlan = {
  key: 'j2k-lossy',
  uid: '1.2.840.10008.1.2.4.91',
  encoder: 'gdcmconv --j2k --lossy -q 70',
  encode: gdcmconv('--j2k', '--lossy', '-q', '70'),
  decode: gdcmconv('--raw'),
  tolerance: 1,
};
const HTJ2K: EncodingPlan = {
  key: 'htj2k',
  uid: '1.2.840.10008.1.2.4.201',
  encoder: 'ojph_compress -reversible true',
  encode: htj2k('1.2.840.10008.1.2.4.201', ['-reversible', 'true']),
  tolerance: 0,
};
const HTJ2K_LOSSY: EncodingPlan = {
  key: 'htj2k-lossy',
  uid: '1.2.840.10008.1.2.4.203',
  encoder: 'ojph_compress -qstep 0.002',
  encode: htj2k('1.2.840.10008.1.2.4.203', ['-qstep', '0.002']),
  decode: htj2kReference,
  tolerance: 1,
};
const JPEG_BASELINE: EncodingPlan = {
  key: 'jpeg-baseline',
  uid: '1.2.840.10008.1.2.4.50',
  encoder: 'dcmcjpeg +eb +q 85',
  encode: dcmcjpeg('+eb', '+q', '85'),
  decode: (input, output) => run('dcmdjpeg', [input, output]),
  tolerance: 1,
};
const JPEG_EXTENDED_8: EncodingPlan = {
  key: 'jpeg-extended',
  uid: '1.2.840.10008.1.2.4.51',
  encoder: 'dcmcjpeg +ee +q 85',
  encode: dcmcjpeg('+ee', '+q', '85'),
  decode: (input, output) => run('dcmdjpeg', [input, output]),
  tolerance: 1,
};
/** 12-bit DCT JPEG: libjpeg-turbo's 8-bit build cannot decode it, and medparse must say so. */
const JPEG_EXTENDED_12: EncodingPlan = {
  key: 'jpeg-extended-12bit',
  uid: '1.2.840.10008.1.2.4.51',
  encoder: 'dcmcjpeg +ee +q 85',
  encode: dcmcjpeg('+ee', '+q', '85'),
  tolerance: 0,
  refused: '12-bit lossy JPEG',
};

interface CasePlan {
  name: string;
  description: string;
  spec: SeriesSpec;
  encodings: EncodingPlan[];
}

const GEOMETRY: SeriesSpec = { columns: 24, rows: 20, slices: 3, orientation: 'oblique', seed: 3, noise: 40 };

const CASES: CasePlan[] = [
  {
    name: 'ct-int16',
    description: 'signed 16-bit CT, RescaleIntercept 0',
    spec: { ...GEOMETRY, signed: true, rescaleIntercept: 0 },
    // No HTJ2K: OpenJPH before 0.10 (Debian's ojph_compress) codes negative samples in a way later
    // decoders, the one medparse uses included, do not read back (OpenJPH issue 102).
    encodings: [LOSSLESS_SV1, LOSSLESS_SV6, JPEG_LS, J2K, J2K_LOSSY],
  },
  {
    name: 'ct-uint12',
    description: 'unsigned 12 of 16 bits, RescaleIntercept -1024',
    spec: { ...GEOMETRY, bitsStored: 12 },
    // dcmcjpls writes near-lossless JPEG-LS of unsigned samples only.
    encodings: [LOSSLESS_SV1, JPEG_LS, JPEG_LS_NEAR, J2K, HTJ2K, HTJ2K_LOSSY, JPEG_EXTENDED_12],
  },
  {
    name: 'mr-int12-slope',
    description: 'signed 12 of 16 bits, RescaleSlope 0.5 (float voxels)',
    spec: { ...GEOMETRY, modality: 'MR', signed: true, bitsStored: 12, rescaleSlope: 0.5, rescaleIntercept: 0 },
    encodings: [LOSSLESS_SV1, JPEG_LS, J2K],
  },
  {
    name: 'uint8-monochrome1',
    description: 'unsigned 8-bit MONOCHROME1, RescaleSlope 8',
    spec: {
      ...GEOMETRY,
      bitsAllocated: 8,
      photometric: 'MONOCHROME1',
      rescaleSlope: 8,
      rescaleIntercept: -1024,
    },
    encodings: [JPEG_BASELINE, JPEG_EXTENDED_8, LOSSLESS_SV1, JPEG_LS, J2K, HTJ2K],
  },
  {
    name: 'enhanced-multiframe',
    description: 'enhanced multi-frame CT, unsigned 16-bit, frames in reverse order',
    spec: { ...GEOMETRY, multiFrame: true, rescaleIntercept: -1024 },
    encodings: [LOSSLESS_SV1, JPEG_LS, J2K, HTJ2K],
  },
];

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'medparse-codec-fixtures-'));
  try {
    rmSync(TARGET, { recursive: true, force: true });
    const manifest: FixtureCase[] = [];
    for (const plan of CASES) manifest.push(await makeCase(plan, work));
    writeFileSync(join(TARGET, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function makeCase(plan: CasePlan, work: string): Promise<FixtureCase> {
  const caseDir = join(TARGET, plan.name);
  const sourceDir = join(caseDir, 'native');
  const series = await writeSeries(join(work, plan.name), plan.spec);
  const files = [...new Set(series.files)];
  {
    mkdirSync(sourceDir, { recursive: true });
    for (const file of files) cpSync(file, join(sourceDir, fileName(file)));
    const encodings = plan.encodings.map((encoding) => {
      const folder = join(caseDir, encoding.key);
      mkdirSync(folder, { recursive: true });
      for (const file of files) encoding.encode(file, join(folder, fileName(file)));
      let reference = 'native';
      if (encoding.decode) {
        reference = `${encoding.key}-reference`;
        mkdirSync(join(caseDir, reference), { recursive: true });
        for (const file of readdirSync(folder)) encoding.decode(join(folder, file), join(caseDir, reference, file));
      }
      return {
        folder: encoding.key,
        transferSyntaxUid: encoding.uid,
        encoder: encoding.encoder,
        tolerance: encoding.tolerance,
        reference,
        ...(encoding.sourceTolerance !== undefined ? { sourceTolerance: encoding.sourceTolerance } : {}),
        ...(encoding.refused !== undefined ? { refused: encoding.refused } : {}),
      };
    });
    return {
      name: plan.name,
      description: plan.description,
      source: 'native',
      rescaleSlope: plan.spec.rescaleSlope ?? 1,
      encodings,
    };
  }
}

function fileName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** HTJ2K: the frames go through ojph_compress as raw samples and come back wrapped in DICOM. */
function htj2k(uid: string, options: string[]): Tool {
  return (input, output) => {
    const { dataset, frames, layout } = readNativeFrames(input);
    const codestreams = frames.map((frame, n) => {
      const raw = `${output}.${n}.raw`;
      const j2c = `${output}.${n}.j2c`;
      writeFileSync(raw, frame);
      run('ojph_compress', [
        '-i',
        raw,
        '-o',
        j2c,
        '-dims',
        `{${layout.columns},${layout.rows}}`,
        '-num_comps',
        '1',
        '-signed',
        String(layout.signed),
        '-bit_depth',
        String(layout.bitsStored),
        '-downsamp',
        '{1,1}',
        '-num_decomps',
        '2',
        ...options,
      ]);
      const codestream = readFileSync(j2c);
      rmSync(raw);
      rmSync(j2c);
      return codestream.buffer.slice(codestream.byteOffset, codestream.byteOffset + codestream.byteLength);
    });
    writeEncapsulated(output, dataset, codestreams, uid);
  };
}

/** The HTJ2K reference: ojph_expand decodes each codestream back to raw samples, written natively. */
function htj2kReference(input: string, output: string): void {
  const message = dcmjs.data.DicomMessage.readFile(toArrayBuffer(readFileSync(input)));
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict) as Record<string, unknown>;
  const codestreams = dataset.PixelData as ArrayBuffer[];
  const frames = codestreams.map((codestream, n) => {
    const j2c = `${output}.${n}.j2c`;
    const raw = `${output}.${n}.raw`;
    writeFileSync(j2c, new Uint8Array(codestream));
    run('ojph_expand', ['-i', j2c, '-o', raw]);
    const samples = readFileSync(raw);
    rmSync(raw);
    rmSync(j2c);
    return samples;
  });
  const joined = Buffer.concat(frames);
  dataset.PixelData = [toArrayBuffer(joined)];
  writeNative(output, dataset);
}

interface NativeLayout {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
}

function readNativeFrames(path: string): {
  dataset: Record<string, unknown>;
  frames: Uint8Array[];
  layout: NativeLayout;
} {
  const message = dcmjs.data.DicomMessage.readFile(toArrayBuffer(readFileSync(path)));
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict) as Record<string, unknown>;
  const layout: NativeLayout = {
    rows: Number(dataset.Rows),
    columns: Number(dataset.Columns),
    bitsAllocated: Number(dataset.BitsAllocated),
    bitsStored: Number(dataset.BitsStored),
    signed: Number(dataset.PixelRepresentation) === 1,
  };
  const pixels = new Uint8Array((dataset.PixelData as ArrayBuffer[])[0]);
  const frameBytes = layout.rows * layout.columns * (layout.bitsAllocated / 8);
  const count = Math.max(1, Number(dataset.NumberOfFrames ?? 1));
  const frames = Array.from({ length: count }, (_, n) =>
    maskToStoredBits(pixels.slice(n * frameBytes, (n + 1) * frameBytes), layout),
  );
  return { dataset, frames, layout };
}

/** ojph_compress reads raw samples of bit_depth bits: clear the bits above BitsStored, sign-extended ones included. */
function maskToStoredBits(frame: Uint8Array, layout: NativeLayout): Uint8Array {
  if (layout.bitsAllocated !== 16 || layout.bitsStored === 16) return frame;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const shift = 32 - layout.bitsStored;
  for (let at = 0; at < frame.length; at += 2) {
    const value = view.getUint16(at, true);
    view.setInt16(at, layout.signed ? (value << shift) >> shift : value & ((1 << layout.bitsStored) - 1), true);
  }
  return frame;
}

/** One fragment per frame, as dcmcjpeg and gdcmconv write them. */
function writeEncapsulated(path: string, dataset: Record<string, unknown>, frames: ArrayBuffer[], uid: string): void {
  const writable = { ...dataset, PixelData: frames, _vrMap: { PixelData: 'OB' } } as WritableDataset;
  writeFileSync(path, encodeDicomFile(writable, { transferSyntaxUid: uid, fragmentFrames: false }));
}

function writeNative(path: string, dataset: Record<string, unknown>): void {
  const vr = Number(dataset.BitsAllocated) === 8 ? 'OB' : 'OW';
  const writable = { ...dataset, _vrMap: { PixelData: vr } } as WritableDataset;
  writeFileSync(path, encodeDicomFile(writable));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

await main();
