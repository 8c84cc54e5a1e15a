/**
 * Volume operations on a 512x512x300 int16 CT phantom (LPS-stored, 0.8 x 0.8 x 1.5 mm): ms per
 * operation and memory afterwards. Measures only; no assertions. Run alone with
 * `node dist/bench/ops.js` or as part of `npm run bench`.
 */
import { fileURLToPath } from 'node:url';
import { makePhantomCt } from '../src/core/phantom.js';
import type { Volume } from '../src/core/volume.js';
import {
  connectedComponents,
  dilate,
  fillHoles,
  labelStatistics,
  percentiles,
  reorient,
  resampleToGrid,
  resampleToSpacing,
  thresholdMask,
} from '../src/ops/index.js';
import type { BenchRow } from './run.js';

/** Times one call; the result is returned so that the work cannot be skipped. */
function timed<T>(rows: BenchRow[], name: string, run: () => T): T {
  const start = performance.now();
  const result = run();
  rows.push({ name, value: performance.now() - start, unit: 'ms' });
  return result;
}

/** HU bands as a uint8 label map: air 0, soft tissue 1-3, kidney-like 4, bone 5. */
function bandLabels(ct: Volume): Volume {
  const source = ct.data;
  const labels = new Uint8Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const v = source[i];
    labels[i] = v < -500 ? 0 : v < 45 ? 1 : v < 55 ? 2 : v < 100 ? 3 : v < 400 ? 4 : 5;
  }
  return { ...ct, data: labels };
}

export async function benchOperations(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const ct = timed(rows, 'build phantom 512x512x300 int16 (LPS)', () =>
    makePhantomCt({ dims: [512, 512, 300], spacing: [0.8, 0.8, 1.5] }),
  );
  timed(rows, 'reorient LPS -> RAS', () => reorient(ct, 'RAS'));
  const working = timed(rows, 'resample to 1.5 mm (linear, float32 out)', () => resampleToSpacing(ct, 1.5, 'linear'));
  timed(rows, 'resample to 3 mm (linear, float32 out)', () => resampleToSpacing(ct, 3, 'linear'));
  const workingMask = thresholdMask(working, 100);
  timed(rows, 'resample 1.5 mm mask back to the original grid (nearest)', () =>
    resampleToGrid(workingMask, ct, 'nearest'),
  );
  const dense = thresholdMask(ct, 100);
  const components = timed(rows, 'connected components (26) of HU > 100', () =>
    connectedComponents(dense, { connectivity: 26 }),
  );
  rows.push({ name: 'components found', value: components.count, unit: 'count' });
  const labels = bandLabels(ct);
  timed(rows, 'per-label statistics (5 labels, with intensities)', () => labelStatistics(labels, ct));
  timed(rows, 'percentiles 0.5 / 99.5 (int16, exact)', () => percentiles(ct.data, [0.5, 99.5]));
  timed(rows, 'dilate HU > 100 by a 3 mm ball', () => dilate(dense, { radiusMm: 3 }));
  timed(rows, 'fill holes of the body mask (HU > -500)', () => fillHoles(thresholdMask(ct, -500)));
  rows.push({ name: 'resident memory after', value: process.memoryUsage().rss / 2 ** 20, unit: 'MiB' });
  rows.push({ name: 'peak resident memory (maxRSS)', value: process.resourceUsage().maxRSS / 1024, unit: 'MiB' });
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await benchOperations()) console.log(`${row.name}: ${row.value.toFixed(1)} ${row.unit}`);
}
