/**
 * The Node ByteSource: a file read with readBounded (streamed, never past what the header needs, bombs
 * refused), its detached data file resolved safely beside it. Node only: browser bundles never import
 * this module (read-bytes.ts uses buffer-source.ts).
 */
import { statSync, type Stats } from 'node:fs';
import { MedparseError } from '../core/errors.js';
import { readBounded } from './bounded-read.js';
import type { ByteSource } from './byte-source.js';
import { resolveDetachedFile } from './detached-file.js';

export function fileSource(path: string): ByteSource {
  return {
    name: path,
    size: () => statOrThrow(path).size,
    read: (range) => readBounded(path, range),
    // only a regular file inside the header's own folder (detached-file.ts)
    detached: (named, field) => fileSource(resolveDetachedFile(path, named, field)),
    pairedImage: (imageName) => {
      statOrThrow(imageName);
      return fileSource(imageName);
    },
  };
}

export function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch {
    throw new MedparseError('FILE_NOT_FOUND', 'no such file or folder; check the path', path);
  }
}
