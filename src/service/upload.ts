/**
 * Uploads are hostile: each file part streams to disk under a name the server chooses (the client's
 * name only lends its extension, and only one medparse reads), with a cap on every file and on
 * the upload as a whole. Whether the bytes are an image is for medparse's readers to say: their
 * header checks run before the upload is accepted, the voxels are read in the worker.
 */
import { createWriteStream, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMedparseError } from '../core/errors.js';
import { readVolumeHeader } from '../io/read.js';
import type { JobInput, JobRequest } from './job-store.js';

/** Extensions medparse reads from one uploaded file (.mhd is left out: it names a second file). */
const SINGLE_FILE_EXTENSIONS = [
  '.nii.gz',
  '.nii',
  '.mgz',
  '.mgh.gz',
  '.mgh',
  '.nrrd',
  '.mha',
  '.zip',
  '.hdr.gz',
  '.hdr',
  '.img.gz',
  '.img',
  '.dcm',
];

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface StoredPart {
  path: string;
  extension: string;
  bytes: number;
}

/** The extension of an upload's name when medparse reads it, else '' (the name itself is never used). */
export function safeExtension(clientName: string | undefined): string {
  const lower = (clientName ?? '').toLowerCase();
  return SINGLE_FILE_EXTENSIONS.find((ext) => lower.endsWith(ext)) ?? '';
}

export class UploadStaging {
  private readonly parts: StoredPart[] = [];
  private totalBytes = 0;

  constructor(
    readonly jobId: string,
    readonly jobDir: string,
    private readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.parts.length;
  }

  /** Streams one file part to input/part-N, counting bytes against the whole upload's limit. */
  async accept(stream: Readable, clientName: string | undefined): Promise<string> {
    const path = join(this.jobDir, 'input', `part-${this.parts.length + 1}`);
    const part: StoredPart = { path, extension: safeExtension(clientName), bytes: 0 };
    this.parts.push(part);
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        part.bytes += chunk.length;
        this.totalBytes += chunk.length;
        if (this.totalBytes > this.maxBytes) done(tooLarge(this.maxBytes));
        else done(null, chunk);
      },
    });
    await pipeline(stream, counter, createWriteStream(path, { flags: 'wx' }));
    if ((stream as Readable & { truncated?: boolean }).truncated) throw tooLarge(this.maxBytes);
    return `part-${this.parts.length}`;
  }

  /**
   * Gives the stored parts the names the readers need: one image file keeps its extension, a
   * .hdr/.img pair becomes image.hdr + image.img, and DICOM files (several, or one without a
   * known extension) go to a folder read as one series.
   */
  arrange(): JobInput {
    const bytes = this.parts.reduce((sum, p) => sum + p.bytes, 0);
    const input = join(this.jobDir, 'input');
    if (this.parts.length === 0)
      throw new HttpError(400, 'NO_FILE', 'the upload holds no file: send the image in the "file" field');
    const [first] = this.parts;
    if (this.parts.length === 1 && first.extension && first.extension !== '.dcm') {
      if (/^\.(hdr|img)/.test(first.extension))
        throw new HttpError(400, 'INCOMPLETE_PAIR', 'a NIfTI .hdr/.img pair needs both files: send two "file" fields');
      renameSync(first.path, join(input, `image${first.extension}`));
      return { path: `input/image${first.extension}`, files: 1, bytes };
    }
    const pair = this.analyzePair();
    if (pair) {
      for (const part of this.parts) renameSync(part.path, join(input, `image${part.extension}`));
      return { path: `input/image${pair}`, files: 2, bytes };
    }
    const notDicom = this.parts.filter((p) => p.extension && p.extension !== '.dcm');
    if (notDicom.length > 0)
      throw new HttpError(
        400,
        'MIXED_UPLOAD',
        `several files are read as the DICOM files of one series, but ${notDicom.length} of them are named as another format (${[...new Set(notDicom.map((p) => p.extension))].join(', ')}); send one image per job`,
      );
    const folder = join(input, 'dicom');
    mkdirSync(folder);
    this.parts.forEach((part, i) => renameSync(part.path, join(folder, `${String(i + 1).padStart(5, '0')}.dcm`)));
    return { path: 'input/dicom', files: this.parts.length, bytes };
  }

  /** The header's extension when the parts are exactly one .hdr and one .img, else undefined. */
  private analyzePair(): string | undefined {
    if (this.parts.length !== 2) return undefined;
    const header = this.parts.find((p) => p.extension.startsWith('.hdr'));
    const image = this.parts.find((p) => p.extension.startsWith('.img'));
    return header && image ? header.extension : undefined;
  }
}

/**
 * Refuses, at upload time, what the readers would refuse in the worker: the same header checks
 * (format, header fields, time point or series choice, size against memory) without reading a
 * voxel. The message is the reader's, with paths relative to the upload's folder.
 */
export async function checkReadable(
  dir: string,
  input: JobInput,
  choice: Pick<JobRequest, 'volume' | 'series'> = {},
): Promise<void> {
  try {
    await readVolumeHeader(join(dir, input.path), { volume: choice.volume, series: choice.series });
  } catch (error) {
    if (!isMedparseError(error)) throw error;
    throw new HttpError(400, error.code, error.message.split(`${dir}/`).join(''));
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    'UPLOAD_TOO_LARGE',
    `the upload is larger than this server accepts (${Math.round(maxBytes / 2 ** 20)} MB, --max-upload-mb)`,
  );
}
