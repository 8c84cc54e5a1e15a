import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePhantomCt } from '../src/core/phantom.js';
import { readVolume } from '../src/io/read.js';
import { writeNifti } from '../src/io/write-nifti.js';
import type { BenchRow } from './run.js';

/** Write and read a 512x512x300 int16 CT as .nii.gz and .nii. */
export async function benchIo(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'medparse-bench-'));
  try {
    const volume = makePhantomCt({ dims: [512, 512, 300], spacing: [0.8, 0.8, 1.5] });
    const rows: BenchRow[] = [];
    for (const name of ['ct.nii.gz', 'ct.nii']) {
      const path = join(dir, name);
      let start = performance.now();
      await writeNifti(path, volume, { compressionLevel: 1 });
      rows.push({ name: `write ${name} (512x512x300 int16)`, value: performance.now() - start, unit: 'ms' });
      rows.push({ name: `${name} size`, value: statSync(path).size / 2 ** 20, unit: 'MiB' });
      start = performance.now();
      await readVolume(path);
      rows.push({ name: `read ${name}`, value: performance.now() - start, unit: 'ms' });
    }
    rows.push({ name: 'peak resident memory so far', value: process.resourceUsage().maxRSS / 1024, unit: 'MiB' });
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
