/**
 * The model contract's preprocessing (prepareInput: reorient, resample, normalise) on a chest-CT-sized
 * volume (512x512x134 int16, 0.7x0.7x2.5 mm, LPS-stored as a DICOM series reads) to body-ct's input
 * (RAS, 3 mm, CT window). Each path runs in a fresh process, so its peak resident memory is its own:
 * the peak's growth over the resident memory with the volume loaded, then the median of several timed
 * runs. "copy first" is the path as it was before prepareInput stopped copying the whole volume to
 * reorient it (reorient, then resampleToSpacing, then normalise): the two side by side give the ratio.
 * Run alone with `node dist/bench/preprocess.js`, or as part of `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makePhantomCt } from '../src/core/phantom.js';
import type { Volume } from '../src/core/volume.js';
import { reorient, resampleToSpacing } from '../src/ops/index.js';
import type { NetworkSpec, NormalizationSpec } from '../src/runtime/model-package.js';
import { normalize, prepareInput } from '../src/runtime/preprocess.js';
import type { BenchRow } from './run.js';
import { networkSpec } from '../test/helpers/network-spec.js';

const DIMS: [number, number, number] = [512, 512, 134];
const SPACING: [number, number, number] = [0.7, 0.7, 2.5];
const TIMED_RUNS = 7;

/** body-ct's input contract (models/medparse-default/model.json), written out so the bench needs no model. */
const CT_WINDOW: NormalizationSpec = { type: 'ct_clip', lower: -125, upper: 275, mean: 75, std: 200 };
const BODY_CT: NetworkSpec = networkSpec({
  id: 'body-ct',
  spacing: [3, 3, 3],
  patchSize: [96, 96, 96],
  normalization: { CT: CT_WINDOW },
});

type Path = 'prepareInput' | 'copy first';

const PATHS: Record<Path, (volume: Volume) => Volume> = {
  prepareInput: (volume) => prepareInput(volume, BODY_CT, 'CT').image,
  'copy first': (volume) =>
    normalize(resampleToSpacing(reorient(volume, BODY_CT.orientation).volume, BODY_CT.spacing, 'linear'), CT_WINDOW),
};

interface ChildResult {
  peakGrowthMiB: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

/** In the child: one run for the memory peak, then TIMED_RUNS timed ones. */
function measurePath(path: Path): ChildResult {
  const volume = makePhantomCt({ dims: DIMS, spacing: SPACING });
  const run = PATHS[path];
  const before = process.resourceUsage().maxRSS;
  run(volume);
  const peakGrowthMiB = (process.resourceUsage().maxRSS - before) / 1024;
  const times: number[] = [];
  for (let n = 0; n < TIMED_RUNS; n++) {
    const start = performance.now();
    run(volume);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { peakGrowthMiB, medianMs: times[TIMED_RUNS >> 1], minMs: times[0], maxMs: times[TIMED_RUNS - 1] };
}

function inChild(path: Path): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(output) as ChildResult) : reject(new Error(`bench child exited ${code}`)),
    );
  });
}

export async function benchPreprocess(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const results = new Map<Path, ChildResult>();
  for (const path of Object.keys(PATHS) as Path[]) {
    const r = await inChild(path);
    results.set(path, r);
    rows.push(
      {
        name: `${path}: time, median of ${TIMED_RUNS}`,
        value: r.medianMs,
        unit: 'ms',
        note: `${r.minMs.toFixed(0)} to ${r.maxMs.toFixed(0)} ms`,
      },
      { name: `${path}: peak memory over the loaded volume`, value: r.peakGrowthMiB, unit: 'MiB' },
    );
  }
  const now = results.get('prepareInput');
  const before = results.get('copy first');
  if (now && before) {
    rows.push({
      name: 'prepareInput time / copy first time',
      value: now.medianMs / before.medianMs,
      unit: 'x',
      note: `${now.medianMs.toFixed(0)} / ${before.medianMs.toFixed(0)} ms`,
    });
  }
  return rows;
}

function isPath(name: string | undefined): name is Path {
  return name !== undefined && Object.hasOwn(PATHS, name);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [flag, path] = process.argv.slice(2);
  if (flag !== '--child') {
    for (const row of await benchPreprocess()) console.log(`${row.name}: ${row.value.toFixed(2)} ${row.unit}`);
  } else if (isPath(path)) {
    console.log(JSON.stringify(measurePath(path)));
  } else {
    throw new Error(`bench/preprocess: no path "${path}" (${Object.keys(PATHS).join(', ')})`);
  }
}
