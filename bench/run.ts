/**
 * npm run bench: every benchmark of the project, printed as one table per area. Benchmarks measure;
 * they assert nothing (wall-clock times vary by machine).
 */
import { benchBrowser } from './browser.js';
import { benchCliStartup } from './cli-startup.js';
import { benchEndToEnd } from './end-to-end.js';
import { benchEngine } from './engine.js';
import { benchIo } from './io.js';
import { benchOperations } from './ops.js';
import { benchPreprocess } from './preprocess.js';
import { benchService } from './service.js';
import { benchVocabulary } from './vocab.js';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** What the value is made of (both times of a ratio, a fixed part, why a series stopped). */
  note?: string;
}

/** Thrown by an area that cannot run here (a missing browser): its table says so instead. */
export class BenchSkipped extends Error {}

const AREAS: Array<[string, () => Promise<BenchRow[]>]> = [
  ['I/O', benchIo],
  ['volume operations', benchOperations],
  ["preprocessing (prepareInput: 512x512x134 int16 CT to body-ct's input, a fresh process each)", benchPreprocess],
  ['vocabulary', benchVocabulary],
  ['CLI startup (fresh processes, before any command runs)', benchCliStartup],
  ['engine (512x512x300 CT-like volume)', benchEngine],
  ['end to end (issue 16: medparse segment on DICOM series, a fresh process each)', benchEndToEnd],
  ['service (medparse serve against the CLI)', benchService],
  ['browser mode against Node (viewer, headless chromium)', benchBrowser],
];

function printTable(title: string, rows: BenchRow[]): void {
  const width = Math.max(...rows.map((r) => r.name.length), 10);
  const notes = rows.some((r) => r.note);
  console.log(`\n## ${title}\n`);
  console.log(`| ${'measure'.padEnd(width)} | ${'value'.padStart(12)} | unit |${notes ? ' note |' : ''}`);
  console.log(`|${'-'.repeat(width + 2)}|${'-'.repeat(14)}|------|${notes ? '------|' : ''}`);
  for (const r of rows) {
    const value = Number.isInteger(r.value) ? String(r.value) : r.value.toFixed(r.value < 1 ? 4 : 1);
    console.log(`| ${r.name.padEnd(width)} | ${value.padStart(12)} | ${r.unit} |${notes ? ` ${r.note ?? ''} |` : ''}`);
  }
}

async function measure(run: () => Promise<BenchRow[]>): Promise<BenchRow[] | string> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof BenchSkipped) return error.message;
    throw error;
  }
}

const only = process.argv[2];
console.log(`medparse benchmarks: node ${process.version}, ${process.arch}`);
for (const [title, run] of AREAS) {
  if (only && !title.toLowerCase().includes(only.toLowerCase())) continue;
  const rows = await measure(run);
  if (typeof rows === 'string') console.log(`\n## ${title}\n\nskipped: ${rows}`);
  else printTable(title, rows);
}
