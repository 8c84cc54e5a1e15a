import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { MedparseError } from '../core/errors.js';

/**
 * The data file a header names (NRRD `data file:`, MetaImage `ElementDataFile`), resolved safely: a
 * header from elsewhere must not make medparse read another folder's files, /etc/passwd, /dev/zero
 * or a FIFO. Only a relative path that stays inside the header's own folder (after following
 * symbolic links) and names a regular file is accepted. Returns the file's real path.
 */
export function resolveDetachedFile(headerPath: string, named: string, field: string): string {
  const refuse = (why: string): never => {
    throw new MedparseError(
      'UNSUPPORTED_FORMAT',
      `${field} "${named}" ${why}; a detached data file must be a regular file in the header's own folder`,
      headerPath,
    );
  };
  if (named.includes('\0')) refuse('holds a NUL character');
  if (isAbsolute(named) || /^[a-z]:[\\/]/i.test(named)) refuse('is an absolute path');
  const folder = dirname(resolve(headerPath));
  const path = resolve(folder, named);
  if (!isInside(folder, path)) refuse("leaves the header's folder");
  try {
    lstatSync(path);
  } catch {
    throw new MedparseError(
      'FILE_NOT_FOUND',
      `the data file "${named}" named by ${field} does not exist (looked for ${path})`,
      headerPath,
    );
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return refuse('is a symbolic link to nothing');
  }
  if (!isInside(realpathSync(folder), real)) refuse("is a symbolic link leaving the header's folder");
  if (!statSync(real).isFile()) refuse('is not a regular file (a folder, FIFO or device)');
  return real;
}

function isInside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
