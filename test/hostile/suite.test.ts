/**
 * The hostile-input suite (issue 17): crafted files, generated here (no data), each run through the
 * real CLI (`medparse info`) in its own process, with its expected exit code, message and a bound on
 * the process's peak memory. Every class of attack the issue lists has a case; the README quotes the
 * figures this suite prints.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { encodeNifti } from '../../src/io/write-nifti.js';
import {
  detachedMetaImageHeader,
  detachedNrrdHeader,
  hasMkfifo,
  nestedSequences,
  tinyDicomImage,
  tinyDicomImageWithElements,
  writeGzipBomb,
} from '../helpers/hostile.js';
import { indexVolume, withTempDir } from '../helpers/volumes.js';
import { writeSeries } from '../io/dicom/make-series.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Reports the process's peak resident memory (KiB) on fd 3 when it exits, however it exits. */
const PEAK_PROBE = `data:text/javascript,${encodeURIComponent(
  "import{readFileSync,writeSync}from'node:fs';" +
    'process.on("exit",()=>{try{' +
    // VmHWM is this process's own high-water mark; maxRSS can carry the parent's across fork and exec
    'const m=/VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status","utf8"));' +
    'writeSync(3,String(m?Number(m[1]):process.resourceUsage().maxRSS))}catch{}})',
)}`;
const RAS = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

interface Case {
  name: string;
  /** Builds the crafted input in `dir`; returns the path given to `medparse info`. */
  build: (dir: string) => Promise<string> | string;
  exit: number;
  message: RegExp;
  /** Most memory the process may use above a bare `medparse --help`, MiB. */
  peakMiB: number;
  skip?: string | false;
}

const nifti = (edit: (view: DataView) => void = () => {}) => {
  const bytes = encodeNifti(indexVolume([8, 8, 8], RAS, (n) => new Int16Array(n)));
  edit(new DataView(bytes.buffer));
  return bytes;
};
const write = (path: string, bytes: Uint8Array | string) => (writeFileSync(path, bytes), path);

async function seriesZip(dir: string, level: 0 | 6 = 0): Promise<Uint8Array> {
  const series = await writeSeries(join(dir, 'series'), { slices: 3 });
  const entries: Record<string, Uint8Array> = {};
  for (const name of readdirSync(series.folder)) entries[name] = readFileSync(join(series.folder, name));
  return zipSync(entries, { level });
}

const CASES: Case[] = [
  {
    name: 'NRRD data file: /etc/passwd',
    build: (d) => write(join(d, 'a.nhdr'), detachedNrrdHeader('/etc/passwd')),
    exit: 1,
    message: /absolute path/,
    peakMiB: 64,
  },
  {
    name: 'NRRD data file: /proc/self/environ',
    build: (d) => write(join(d, 'a.nhdr'), detachedNrrdHeader('/proc/self/environ')),
    exit: 1,
    message: /absolute path/,
    peakMiB: 64,
  },
  {
    name: 'NRRD data file: ../ escape',
    build: (d) => {
      mkdirSync(join(d, 'in'));
      write(join(d, 'other.raw'), Buffer.alloc(32, 1));
      return write(join(d, 'in', 'a.nhdr'), detachedNrrdHeader('../other.raw'));
    },
    exit: 1,
    message: /leaves the header's folder/,
    peakMiB: 64,
  },
  {
    name: 'NRRD data file: symbolic link out of the folder',
    build: (d) => {
      mkdirSync(join(d, 'in'));
      write(join(d, 'other.raw'), Buffer.alloc(32, 1));
      symlinkSync(join(d, 'other.raw'), join(d, 'in', 'data.raw'));
      return write(join(d, 'in', 'a.nhdr'), detachedNrrdHeader('data.raw'));
    },
    exit: 1,
    message: /symbolic link leaving/,
    peakMiB: 64,
  },
  {
    name: 'MetaImage ElementDataFile = /dev/zero',
    build: (d) => write(join(d, 'a.mhd'), detachedMetaImageHeader('/dev/zero')),
    exit: 1,
    message: /absolute path/,
    peakMiB: 64,
  },
  {
    name: 'MetaImage ElementDataFile naming a FIFO',
    build: (d) => {
      execFileSync('mkfifo', [join(d, 'pipe.raw')]);
      return write(join(d, 'a.mhd'), detachedMetaImageHeader('pipe.raw'));
    },
    exit: 1,
    message: /not a regular file/,
    peakMiB: 64,
    skip: !hasMkfifo() && 'no mkfifo',
  },
  {
    name: 'a FIFO as the image',
    build: (d) => (execFileSync('mkfifo', [join(d, 'scan.nii')]), join(d, 'scan.nii')),
    exit: 1,
    message: /not a regular file/,
    peakMiB: 64,
    skip: !hasMkfifo() && 'no mkfifo',
  },
  {
    name: '.nii.gz bomb: 1 GiB of zeros behind a header needing 1 KiB',
    build: async (d) => (await writeGzipBomb(join(d, 'b.nii.gz'), nifti(), 1024), join(d, 'b.nii.gz')),
    exit: 1,
    message: /decompression bomb/,
    peakMiB: 128,
  },
  {
    name: '.mgz bomb: 512 MiB of zeros',
    build: async (d) => {
      const header = Buffer.alloc(284 + 64);
      [1, 4, 4, 4, 1, 0].forEach((v, i) => header.writeInt32BE(v, 4 * i));
      await writeGzipBomb(join(d, 'b.mgz'), header, 512);
      return join(d, 'b.mgz');
    },
    exit: 1,
    message: /decompression bomb/,
    peakMiB: 128,
  },
  {
    name: 'NRRD gzip payload inflating to 256 MiB for 64 voxels',
    build: (d) =>
      write(
        join(d, 'b.nrrd'),
        Buffer.concat([
          Buffer.from('NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 4 4\nencoding: gzip\n\n'),
          gzipSync(Buffer.alloc(256 << 20)),
        ]),
      ),
    exit: 1,
    message: /decompression bomb/,
    peakMiB: 128,
  },
  {
    name: 'MetaImage zlib data inflating to 256 MiB for 64 voxels',
    build: (d) =>
      write(
        join(d, 'b.mha'),
        Buffer.concat([
          Buffer.from(
            'ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_UCHAR\nCompressedData = True\nElementDataFile = LOCAL\n',
          ),
          deflateSync(Buffer.alloc(256 << 20)),
        ]),
      ),
    exit: 1,
    message: /decompression bomb/,
    peakMiB: 128,
  },
  {
    name: 'NIfTI header declaring 2 GB of voxels with none present',
    build: (d) =>
      write(
        join(d, 'h.nii'),
        nifti((v) => [16000, 16000, 4].forEach((n, i) => v.setInt16(42 + 2 * i, n, true))).subarray(0, 352),
      ),
    exit: 1,
    message: /truncated|GiB allowed/,
    peakMiB: 64,
  },
  {
    name: 'NIfTI vox_offset NaN',
    build: (d) =>
      write(
        join(d, 'n.nii'),
        nifti((v) => v.setFloat32(108, NaN, true)),
      ),
    exit: 1,
    message: /vox_offset is NaN/,
    peakMiB: 64,
  },
  {
    name: 'NIfTI vox_offset inside the header',
    build: (d) =>
      write(
        join(d, 'n.nii'),
        nifti((v) => v.setFloat32(108, 12, true)),
      ),
    exit: 1,
    message: /inside the header/,
    peakMiB: 64,
  },
  {
    name: 'NIfTI sform of zeros',
    build: (d) =>
      write(
        join(d, 'n.nii'),
        nifti((v) => Array.from({ length: 12 }, (_, i) => v.setFloat32(280 + 4 * i, 0, true))),
      ),
    exit: 1,
    message: /singular/,
    peakMiB: 64,
  },
  {
    name: 'a truncated .nii.gz',
    build: (d) => write(join(d, 't.nii.gz'), gzipSync(nifti()).subarray(0, 300)),
    exit: 1,
    message: /incomplete|truncated/,
    peakMiB: 64,
  },
  {
    name: 'DICOM slice declaring 50 million frames',
    build: (d) => write(join(d, 'f.dcm'), tinyDicomImage({ NumberOfFrames: '50000000' })),
    exit: 1,
    message: /NumberOfFrames says 50000000/,
    peakMiB: 96,
  },
  {
    name: 'DICOM with 5,000 nested sequences',
    build: (d) => write(join(d, 'n.dcm'), tinyDicomImageWithElements(nestedSequences(5000, true))),
    exit: 1,
    message: /nested more than 64 deep/,
    peakMiB: 96,
  },
  {
    name: 'zip entry failing its CRC-32',
    build: async (d) => {
      const bytes = await seriesZip(d);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const start = 30 + view.getUint16(26, true) + view.getUint16(28, true);
      bytes[start + view.getUint32(18, true) - 1] ^= 0xff;
      return write(join(d, 's.zip'), bytes);
    },
    exit: 1,
    message: /CRC-32/,
    peakMiB: 96,
  },
  {
    name: 'zip claiming 3 GiB from a few KiB',
    build: async (d) => {
      const bytes = await seriesZip(d, 6);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      for (let at = 0; at + 46 <= bytes.length; at++)
        if (view.getUint32(at, true) === 0x02014b50) view.setUint32(at + 24, 2 ** 30, true);
      return write(join(d, 's.zip'), bytes);
    },
    exit: 1,
    message: /zip bomb/,
    peakMiB: 96,
  },
];

/** Runs `medparse ...args` in its own process: exit code, stderr, peak memory in MiB. */
function medparse(args: string[]): Promise<{ code: number | null; stderr: string; peakMiB: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', PEAK_PROBE, MAIN, ...args], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    let stderr = '';
    let peak = '';
    child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    child.stdio[3]?.on('data', (chunk) => (peak += String(chunk)));
    child.on('close', (code) => resolve({ code, stderr, peakMiB: Number(peak) / 1024 }));
  });
}

describe('hostile-input suite: each crafted file is refused by the CLI in one line, in bounded memory', async () => {
  const baseline = (await medparse(['--help'])).peakMiB;
  const figures: Array<{ name: string; peak: number }> = [];
  after(() => {
    const worst = Math.max(...figures.map((f) => f.peak));
    console.log(
      `hostile-input suite: ${figures.length} of ${CASES.length} crafted inputs handled; peak memory at most ${worst.toFixed(0)} MiB above a bare medparse (${baseline.toFixed(0)} MiB)`,
    );
  });
  for (const c of CASES) {
    it(c.name, { skip: c.skip }, () =>
      withTempDir(async (dir) => {
        const input = await c.build(dir);
        const r = await medparse(['info', input]);
        assert.equal(r.code, c.exit, r.stderr);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line, no trace: ${r.stderr}`);
        assert.match(lines[0], c.message);
        assert.ok(lines[0].includes(input) || lines[0].includes(dir), `names the file: ${lines[0]}`);
        const above = r.peakMiB - baseline;
        assert.ok(
          above < c.peakMiB,
          `peak ${r.peakMiB.toFixed(0)} MiB, ${above.toFixed(0)} above baseline; bound ${c.peakMiB}`,
        );
        figures.push({ name: c.name, peak: above });
      }),
    );
  }
});
