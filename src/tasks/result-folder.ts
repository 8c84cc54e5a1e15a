/**
 * A results folder that a run can neither corrupt nor use to destroy what it did not write.
 *
 * - medparse knows its own files from a manifest (`.medparse-manifest.json`, name -> sha256) that
 *   each run writes; it replaces or removes a file only when the manifest lists it and its hash still
 *   matches, and only with `force`. Anything else named like an output is never touched: the run
 *   stops with an error naming it. An input of the run is never replaced.
 * - The folder is checked (a folder, not an input, writable) and locked when the run starts, before
 *   any inference: a second run into the same folder is refused while the first holds the lock (a
 *   file beside the folder holding its pid; a dead pid's lock is taken over).
 * - Results are written into a staging folder beside the output folder, synced to disk, then swapped
 *   in with renames: a folder holding only medparse's files is replaced whole (two renames); one that
 *   also holds the user's files gets the new files moved in with report.json last, under a manifest
 *   that already lists them, so a killed run never leaves a complete-looking mix and the next run can
 *   still clean up. Staging left by a killed run is removed by the next run into the same folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  accessSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { MedparseError } from '../core/errors.js';

/** Names of the files a run writes (and so the only names a run may ever replace). */
export const RESULT_FILE_NAMES =
  /^(report\.json|labels\.nii\.gz|labels\.json|preview\.png|segmentation\.dcm|[a-z0-9_]+\.nii\.gz|[a-z0-9_]+\.json)$/;
/** Written by every run: what the run wrote and each file's sha256. */
export const MANIFEST_NAME = '.medparse-manifest.json';
const MANIFEST_SCHEMA = 'medparse-manifest/1';
/** Every run writes these, whatever it finds: checked before inference. */
const FIXED_NAMES = ['report.json', 'labels.nii.gz', 'labels.json', 'preview.png', 'segmentation.dcm'];

export interface OpenOutputFolderOptions {
  /** Replace the files of an earlier run (only those the manifest lists, unchanged since). */
  force?: boolean;
  /** Paths the run reads: -o may not be one of them or inside one, and none of them is ever replaced. */
  inputs?: readonly string[];
}

interface Manifest {
  /** name -> accepted sha256 values (two while a swap is in progress). */
  files: Map<string, Set<string>>;
  complete: boolean;
}

/** Folders this process holds the lock of (a service may run several requests at once). */
const heldHere = new Set<string>();

export class OutputFolder {
  private stagingPath: string | undefined;
  private released = false;

  private constructor(
    /** Absolute path of the output folder. */
    readonly dir: string,
    private readonly lockPath: string,
    private readonly force: boolean,
    private readonly inputs: readonly string[],
  ) {}

  /**
   * Checks and locks `dir` for one run: call it before any inference, so an unusable folder is
   * reported at once. Call release() (or commit()) when done.
   */
  static open(dir: string, options: OpenOutputFolderOptions = {}): OutputFolder {
    const inputs = (options.inputs ?? []).map(realOrResolved);
    const target = checkTarget(dir, inputs);
    const parent = dirname(target);
    mkdirOrThrow(parent, dir);
    checkWritable(parent, `the folder that holds ${target}`, dir);
    if (existsSync(target)) checkWritable(target, 'the output folder', dir);
    const lockPath = join(parent, `.${basename(target)}.medparse-lock`);
    takeLock(lockPath, target, dir);
    const folder = new OutputFolder(target, lockPath, options.force === true, inputs);
    try {
      folder.removeLeftovers();
      folder.checkBeforeRun();
    } catch (error) {
      folder.release();
      throw error;
    }
    return folder;
  }

  /** The staging folder results are written into (created on first call, beside the output folder). */
  staging(): string {
    if (this.released) throw new Error('the output folder was released');
    if (!this.stagingPath) {
      const name = `.${basename(this.dir)}.medparse-staging-${process.pid}-${randomBytes(4).toString('hex')}`;
      this.stagingPath = join(dirname(this.dir), name);
      mkdirSync(this.stagingPath);
    }
    return this.stagingPath;
  }

  /**
   * Swaps the staged results in (see the module comment) and releases the folder. Returns the names
   * written, report.json last. Nothing is replaced unless every replaced file is medparse's own.
   */
  commit(): string[] {
    const staging = this.staging();
    try {
      const names = readdirSync(staging).filter((name) => !name.startsWith('.'));
      const odd = names.find((name) => !RESULT_FILE_NAMES.test(name));
      if (odd) throw new Error(`staging holds "${odd}", not a result file name`);
      const ordered = [...names.filter((n) => n !== 'report.json'), ...names.filter((n) => n === 'report.json')];
      const hashes = new Map(ordered.map((name) => [name, sha256OfFile(join(staging, name))]));
      const earlier = readManifest(this.dir);
      this.checkReplaceable(ordered, earlier);
      for (const name of ordered) fsyncPath(join(staging, name));
      writeManifest(staging, hashes, true);
      fsyncPath(staging);
      if (!existsSync(this.dir)) this.moveWhole(staging);
      // a folder the process (and so the user's shell) sits in must stay the same folder
      else if (this.holdsOnlyOwnFiles(earlier) && !isInsideOrSame(process.cwd(), this.dir)) this.swapWhole(staging);
      else this.moveFileByFile(staging, ordered, hashes, earlier);
      this.stagingPath = undefined;
      return ordered;
    } finally {
      this.release();
    }
  }

  /** Removes the staging folder and the lock; synchronous, so it can run in a signal handler. */
  release(): void {
    if (this.stagingPath) rmSync(this.stagingPath, { recursive: true, force: true });
    this.stagingPath = undefined;
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.dir);
    try {
      unlinkSync(this.lockPath);
    } catch {
      // already gone: nothing to release
    }
  }

  /** Staging and half-swapped folders of a killed run into this folder (we hold the lock: none is live). */
  private removeLeftovers(): void {
    const parent = dirname(this.dir);
    const prefix = `.${basename(this.dir)}.medparse-`;
    for (const name of readdirSync(parent)) {
      if (!name.startsWith(prefix)) continue;
      const path = join(parent, name);
      if (/^staging-\d+-[0-9a-f]+$/.test(name.slice(prefix.length))) {
        rmSync(path, { recursive: true, force: true });
      } else if (/^old-\d+-[0-9a-f]+$/.test(name.slice(prefix.length))) {
        // killed between the two renames of a swap: the old folder is the only copy of the results
        if (!existsSync(this.dir)) renameSync(path, this.dir);
        else rmSync(path, { recursive: true, force: true });
      }
    }
    if (existsSync(this.dir)) {
      // staging of versions that staged inside the folder
      for (const name of readdirSync(this.dir))
        if (/^\.medparse-staging-[0-9a-f]+$/.test(name)) rmSync(join(this.dir, name), { recursive: true, force: true });
    }
  }

  /** What can be refused before inference: earlier results without force, user files named like fixed outputs. */
  private checkBeforeRun(): void {
    if (!existsSync(this.dir)) return;
    const manifest = readManifest(this.dir);
    const hasResults = manifest !== undefined || existsSync(join(this.dir, 'report.json'));
    if (hasResults && !this.force)
      throw new MedparseError(
        'OUTPUT_EXISTS',
        'folder already holds medparse results (report.json); choose another folder or pass --force to replace them',
        this.dir,
      );
    const foreign = FIXED_NAMES.filter((name) => existsSync(join(this.dir, name)) && !this.owns(name, manifest));
    if (foreign.length) throw foreignFilesError(this.dir, foreign);
  }

  /** True when `name` in the folder is a regular file the manifest lists with its current hash, and no input. */
  private owns(name: string, manifest: Manifest | undefined): boolean {
    const path = join(this.dir, name);
    const accepted = manifest?.files.get(name);
    if (!accepted) return false;
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info?.isFile()) return false;
    if (this.isInput(path)) return false;
    return accepted.has(sha256OfFile(path));
  }

  private isInput(path: string): boolean {
    const real = realOrResolved(path);
    return this.inputs.some((input) => input === real || isInside(real, input));
  }

  private checkReplaceable(names: readonly string[], earlier: Manifest | undefined): void {
    if (!existsSync(this.dir)) return;
    const inputs = names.filter((name) => existsSync(join(this.dir, name)) && this.isInput(join(this.dir, name)));
    if (inputs.length)
      throw new MedparseError(
        'OUTPUT_EXISTS',
        `${inputs.join(', ')} in the output folder is an input of this run and would be replaced by a result; write the results to another folder`,
        this.dir,
      );
    const foreign = names.filter(
      (name) => lstatSync(join(this.dir, name), { throwIfNoEntry: false }) && !this.owns(name, earlier),
    );
    if (foreign.length) throw foreignFilesError(this.dir, foreign);
    const replaced = names.filter((name) => existsSync(join(this.dir, name)));
    if (replaced.length && !this.force)
      throw new MedparseError(
        'OUTPUT_EXISTS',
        `folder already holds results of an earlier run (${replaced.join(', ')}); pass --force to replace them`,
        this.dir,
      );
  }

  /** True when every entry of the folder is the manifest or a file it lists, unchanged. */
  private holdsOnlyOwnFiles(manifest: Manifest | undefined): boolean {
    return readdirSync(this.dir).every((name) => name === MANIFEST_NAME || this.owns(name, manifest));
  }

  private moveWhole(staging: string): void {
    renameSync(staging, this.dir);
    fsyncPath(dirname(this.dir));
  }

  /** The folder holds only medparse's files: replace it whole; its old copy is removed after. */
  private swapWhole(staging: string): void {
    const old = join(
      dirname(this.dir),
      `.${basename(this.dir)}.medparse-old-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    renameSync(this.dir, old);
    renameSync(staging, this.dir);
    fsyncPath(dirname(this.dir));
    rmSync(old, { recursive: true, force: true });
  }

  /**
   * The folder also holds the user's files, which must stay where they are: the manifest first lists
   * both runs' files, report.json goes (the folder no longer looks complete), the new files move in,
   * the earlier run's leftovers go, and the final manifest and report.json come last.
   */
  private moveFileByFile(
    staging: string,
    ordered: readonly string[],
    hashes: Map<string, string>,
    earlier: Manifest | undefined,
  ): void {
    const stale = [...(earlier?.files.keys() ?? [])].filter(
      (name) => !hashes.has(name) && existsSync(join(this.dir, name)) && this.owns(name, earlier),
    );
    const journal = new Map<string, Set<string>>(earlier?.files ?? []);
    for (const [name, hash] of hashes) journal.set(name, new Set([...(journal.get(name) ?? []), hash]));
    writeManifestSets(this.dir, journal, false);
    if (this.owns('report.json', earlier)) unlinkSync(join(this.dir, 'report.json'));
    for (const name of ordered.filter((n) => n !== 'report.json'))
      renameSync(join(staging, name), join(this.dir, name));
    for (const name of stale) unlinkSync(join(this.dir, name));
    renameSync(join(staging, MANIFEST_NAME), join(this.dir, MANIFEST_NAME));
    if (ordered.includes('report.json')) renameSync(join(staging, 'report.json'), join(this.dir, 'report.json'));
    fsyncPath(this.dir);
    rmSync(staging, { recursive: true, force: true });
  }
}

function foreignFilesError(dir: string, names: readonly string[]): MedparseError {
  return new MedparseError(
    'OUTPUT_EXISTS',
    `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} in the output folder but not medparse's own results (no manifest lists ${names.length === 1 ? 'it' : 'them'}, or ${names.length === 1 ? 'it was' : 'they were'} changed since); medparse never replaces such files, even with --force: move ${names.length === 1 ? 'it' : 'them'} away or choose another folder`,
    dir,
  );
}

/** The real path of the output folder; refuses a file, an input, or a folder inside an input folder. */
function checkTarget(dir: string, inputs: readonly string[]): string {
  const info = statSafe(dir);
  if (info && !info.isDirectory())
    throw new MedparseError(
      'OUTPUT_EXISTS',
      'the output path is an existing file, not a folder; give a folder with -o',
      dir,
    );
  const target = info ? realpathSync(dir) : join(realOrResolved(dirname(resolve(dir))), basename(resolve(dir)));
  for (const input of inputs) {
    if (input === target)
      throw new MedparseError(
        'OUTPUT_EXISTS',
        'the output folder is the input itself; choose another folder with -o',
        dir,
      );
    if (isInside(target, input))
      throw new MedparseError(
        'OUTPUT_EXISTS',
        'the output folder is inside the input folder (results would be read as input next time); choose another folder with -o',
        dir,
      );
  }
  return target;
}

function mkdirOrThrow(parent: string, dir: string): void {
  try {
    mkdirSync(parent, { recursive: true });
  } catch (error) {
    throw new MedparseError(
      'WRITE_FAILED',
      `cannot create the folder that holds the results (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      dir,
    );
  }
}

/** Access check plus a real write: permissions say nothing on a read-only mount. */
function checkWritable(folder: string, what: string, dir: string): void {
  const probe = join(folder, `.medparse-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (error) {
    throw new MedparseError(
      'WRITE_FAILED',
      `${what} (${folder}) is not writable (${(error as NodeJS.ErrnoException).code ?? String(error)}); choose a folder you can write to`,
      dir,
    );
  }
}

/** An exclusive lock file holding the pid; a lock whose pid is dead is stale and taken over. */
function takeLock(lockPath: string, target: string, dir: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (!heldHere.has(target)) {
      try {
        const fd = openSync(lockPath, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        heldHere.add(target);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    const pid = heldHere.has(target) ? process.pid : Number.parseInt(readFileSafe(lockPath), 10);
    if (pid === process.pid || isAlive(pid)) {
      throw new MedparseError(
        'OUTPUT_EXISTS',
        `another medparse run (pid ${pid}) is writing into this folder; wait for it to finish, or choose another folder (if no run is active, remove ${lockPath})`,
        dir,
      );
    }
    rmSync(lockPath, { force: true });
  }
  throw new MedparseError('OUTPUT_EXISTS', 'another medparse run took the folder at the same moment', dir);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readManifest(dir: string): Manifest | undefined {
  const text = readFileSafe(join(dir, MANIFEST_NAME));
  if (!text) return undefined;
  try {
    const raw = JSON.parse(text) as { schema?: unknown; complete?: unknown; files?: Record<string, unknown> };
    if (raw.schema !== MANIFEST_SCHEMA || typeof raw.files !== 'object' || raw.files === null) return undefined;
    const files = new Map<string, Set<string>>();
    for (const [name, hashes] of Object.entries(raw.files)) {
      if (!RESULT_FILE_NAMES.test(name) || !Array.isArray(hashes)) continue;
      files.set(name, new Set(hashes.filter((h): h is string => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))));
    }
    return { files, complete: raw.complete === true };
  } catch {
    return undefined; // not a manifest medparse wrote: it vouches for nothing
  }
}

function writeManifest(dir: string, hashes: Map<string, string>, complete: boolean): void {
  writeManifestSets(dir, new Map([...hashes].map(([name, hash]) => [name, new Set([hash])])), complete);
}

function writeManifestSets(dir: string, files: Map<string, Set<string>>, complete: boolean): void {
  const body = {
    schema: MANIFEST_SCHEMA,
    complete,
    files: Object.fromEntries([...files].map(([name, hashes]) => [name, [...hashes]])),
  };
  const temporary = join(dir, `.medparse-manifest-${randomBytes(4).toString('hex')}.partial`);
  writeFileSync(temporary, JSON.stringify(body, null, 2) + '\n');
  fsyncPath(temporary);
  renameSync(temporary, join(dir, MANIFEST_NAME));
}

export function sha256OfFile(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function statSafe(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function isInsideOrSame(path: string, folder: string): boolean {
  return realOrResolved(path) === folder || isInside(realOrResolved(path), folder);
}

/** True when `path` lies strictly inside `folder` (both absolute, resolved the same way). */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
