/**
 * Tools for the hostile-input tests: reading a crafted file in a child process to measure its peak
 * memory, and building the crafted bytes (gzip bombs, NIfTI headers) without holding them whole.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

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
