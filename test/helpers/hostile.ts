/**
 * Tools for the hostile-input tests: reading a crafted file in a child process to measure its peak
 * memory, and building the crafted inputs (gzip bombs without holding them whole, detached headers,
 * DICOM files with nested sequences) that both the reader tests and the CLI suite use.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeDicomFile } from '../../src/io/dicom/dcmjs.js';
import { newUid } from '../io/dicom/make-series.js';

export interface ChildRead {
  /** 'ok' or the MedparseError code, or 'crash' with the message of anything else. */
  outcome: string;
  message: string;
  /** Peak resident memory of the child, MiB. */
  peakMiB: number;
}

const READ_VOLUME = new URL('../../src/io/read.js', import.meta.url).href;

/**
 * Reads `path` with readVolume in a fresh Node process and reports how it ended and its peak memory
 * (the OS's maxrss, so it counts buffers outside the JS heap too).
 */
export function readInChild(path: string, options: Record<string, unknown> = {}): Promise<ChildRead> {
  const script = `
    import { readFileSync } from 'node:fs';
    // VmHWM is this process's own high-water mark; maxRSS can carry the parent's across fork and exec
    const peakKiB = () => {
      try { return Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]); }
      catch { return process.resourceUsage().maxRSS; }
    };
    import(${JSON.stringify(READ_VOLUME)}).then(async ({ readVolume }) => {
      let outcome = 'ok', message = '';
      try { await readVolume(${JSON.stringify(path)}, ${JSON.stringify(options)}); }
      catch (e) { outcome = e && e.name === 'MedparseError' ? e.code : 'crash'; message = String(e && e.message); }
      process.stdout.write(JSON.stringify({ outcome, message, peakMiB: peakKiB() / 1024 }));
    });`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error && !stdout) reject(new Error(`child failed: ${error.message} ${stderr}`));
      else resolve(JSON.parse(stdout) as ChildRead);
    });
  });
}

/** Peak memory of a child that only starts Node and imports the reader: the baseline to compare with. */
export async function baselineMiB(): Promise<number> {
  return (await readInChild(fileURLToPath(import.meta.url))).peakMiB;
}

/**
 * Writes `prefix` followed by `zeroMiB` MiB of zeros as a multi-member gzip file: each member is one
 * MiB of zeros (about 1 KiB compressed), so a 1 GiB bomb is about a megabyte on disk and is built
 * without ever holding it inflated.
 */
export async function writeGzipBomb(path: string, prefix: Uint8Array, zeroMiB: number): Promise<void> {
  const member = gzipSync(Buffer.alloc(1 << 20), { level: 9 });
  const out = createWriteStream(path);
  out.write(gzipSync(prefix));
  for (let i = 0; i < zeroMiB; i++)
    if (!out.write(member)) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** Whether this machine can make a FIFO (the tests that need one skip where it cannot). */
export function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A detached-data NRRD header for a 4x4x2 uint8 image whose voxels are in `dataFile`. */
export const detachedNrrdHeader = (dataFile: string): string =>
  `NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 4 2\nencoding: raw\ndata file: ${dataFile}\n\n`;

/** A detached-data MetaImage header for a 4x4x2 uint8 image whose voxels are in `dataFile`. */
export const detachedMetaImageHeader = (dataFile: string): string =>
  `ObjectType = Image\nNDims = 3\nDimSize = 4 4 2\nElementType = MET_UCHAR\nElementDataFile = ${dataFile}\n`;

/** A valid one-slice 4x4 CT as a Part 10 file (explicit VR little endian), with `extra` attributes. */
export function tinyDicomImage(extra: Record<string, unknown> = {}): Uint8Array {
  return encodeDicomFile({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2.1',
    SOPInstanceUID: newUid(),
    StudyInstanceUID: newUid(),
    SeriesInstanceUID: newUid(),
    Modality: 'CT',
    Rows: 4,
    Columns: 4,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    ImagePositionPatient: ['0', '0', '0'],
    ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
    PixelSpacing: ['1', '1'],
    _vrMap: { PixelData: 'OW' },
    PixelData: [new Uint8Array(32).buffer],
    ...extra,
  });
}

/** tinyDicomImage with `inserted` element bytes placed just before its pixel data. */
export function tinyDicomImageWithElements(inserted: Uint8Array): Uint8Array {
  const file = Buffer.from(tinyDicomImage());
  const pixelTag = Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
  const at = file.lastIndexOf(pixelTag);
  return Buffer.concat([file.subarray(0, at), inserted, file.subarray(at)]);
}

const ITEM_DELIMITER = [0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0];
const SEQUENCE_DELIMITER = [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0];

/** Explicit VR little endian element bytes. */
function element(group: number, elementNumber: number, vr: string, value: Uint8Array, undefinedLength = false) {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const head = new Uint8Array(long ? 12 : 8);
  const view = new DataView(head.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, elementNumber, true);
  head[4] = vr.charCodeAt(0);
  head[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, undefinedLength ? 0xffffffff : value.length, true);
  else view.setUint16(6, value.length, true);
  return Buffer.concat([head, value]);
}

function item(content: Uint8Array, undefinedLength: boolean): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0xfffe, 0);
  head.writeUInt16LE(0xe000, 2);
  head.writeUInt32LE(undefinedLength ? 0xffffffff : content.length, 4);
  const parts = [head, Buffer.from(content)];
  if (undefinedLength) parts.push(Buffer.from(ITEM_DELIMITER));
  return Buffer.concat(parts);
}

/** ContentSequence items nested `depth` deep, of undefined or defined lengths, then nothing else. */
export function nestedSequences(depth: number, undefinedLength: boolean): Buffer {
  let inner: Buffer = Buffer.alloc(0);
  for (let level = 0; level < depth; level++) {
    const sequence = element(0x0040, 0xa730, 'SQ', item(inner, undefinedLength), undefinedLength);
    inner = undefinedLength ? Buffer.concat([sequence, Buffer.from(SEQUENCE_DELIMITER)]) : sequence;
  }
  return inner;
}
