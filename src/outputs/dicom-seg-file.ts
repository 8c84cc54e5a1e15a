/** Writing a DICOM SEG file (Node): the encoder, dicom-seg.ts, has no file system so browsers use it too. */
import type { Volume } from '../core/volume.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { encodeDicomSeg, type DicomSegOptions } from './dicom-seg.js';
import type { SegLabelTable } from './seg-codes.js';

/** Encodes the label map as a DICOM SEG and writes it atomically. */
export async function writeDicomSeg(
  path: string,
  source: Volume,
  labels: Volume,
  table: SegLabelTable,
  options: DicomSegOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodeDicomSeg(source, labels, table, options));
}
