import { join } from 'node:path';
import { readDocument, writeDocument } from '../io/documents.js';
import type { Report } from './report-types.js';

export * from './report-types.js';

/** report.json of a results folder. */
export function reportPath(dir: string): string {
  return join(dir, 'report.json');
}

/** Reads a results folder's report.json, checked against its schema (problems name the file and the field). */
export function readReport(dir: string): Report {
  return readDocument<Report>('report', reportPath(dir));
}

/** Writes report.json into `dir`, checked against its schema first. */
export async function writeReport(dir: string, report: Report): Promise<void> {
  await writeDocument('report', reportPath(dir), report);
}
