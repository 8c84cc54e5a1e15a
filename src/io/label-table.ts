import { readDocument, writeDocument } from './documents.js';
import { toNiivueColormap, type LabelTable } from './label-legend.js';

export * from './label-legend.js';

/** Reads a labels.json (or any label table sidecar), checked against its schema. */
export function readLabelTable(path: string): LabelTable {
  return readDocument<LabelTable>('labels', path);
}

/** Writes a label table sidecar with NiiVue's colormap of the same legend, checked against its schema first. */
export async function writeLabelTable(path: string, table: LabelTable): Promise<void> {
  await writeDocument('labels', path, { ...table, niivue: toNiivueColormap(table) });
}
