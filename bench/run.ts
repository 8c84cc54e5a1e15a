/**
 * npm run bench: every benchmark of the project, printed as one table per area. Benchmarks measure;
 * they assert nothing (wall-clock times vary by machine).
 */
import { benchEngine } from './engine.js';
import { benchIo } from './io.js';
import { benchOperations } from './ops.js';
import { benchService } from './service.js';
import { benchVocabulary } from './vocab.js';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

const AREAS: Array<[string, () => Promise<BenchRow[]>]> = [
  ['I/O', benchIo],
  ['volume operations', benchOperations],
  ['vocabulary', benchVocabulary],
  ['engine (512x512x300 CT-like volume)', benchEngine],
  ['service (medparse serve against the CLI)', benchService],
];

function printTable(title: string, rows: BenchRow[]): void {
  const width = Math.max(...rows.map((r) => r.name.length), 10);
  console.log(`\n## ${title}\n`);
  console.log(`| ${'measure'.padEnd(width)} | ${'value'.padStart(12)} | unit |`);
  console.log(`|${'-'.repeat(width + 2)}|${'-'.repeat(14)}|------|`);
  for (const r of rows) {
    const value = Number.isInteger(r.value) ? String(r.value) : r.value.toFixed(r.value < 1 ? 4 : 1);
    console.log(`| ${r.name.padEnd(width)} | ${value.padStart(12)} | ${r.unit} |`);
  }
}

const only = process.argv[2];
console.log(`medparse benchmarks: node ${process.version}, ${process.arch}`);
for (const [title, run] of AREAS) {
  if (only && !title.toLowerCase().includes(only.toLowerCase())) continue;
  printTable(title, await run());
}
