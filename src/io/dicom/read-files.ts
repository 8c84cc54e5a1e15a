/**
 * DICOM series on disk (Node): a folder (searched recursively), a .zip or a single (multi-frame) file,
 * read by the platform-free reader (read.ts) through file sources, and admitted against the machine's
 * memory (admit.ts) before a pixel is read.
 */
import type { Volume } from '../../core/volume.js';
import { admitVolume, type AdmitOptions, type OpenedVolume } from '../admit.js';
import type { DicomSeriesSummary } from './series.js';
import { openDicomInput } from './file-sources.js';
import { listDicomSeriesFrom, openDicomSeriesFrom, type DicomSeriesOptions } from './read.js';

export interface ReadDicomOptions extends Omit<DicomSeriesOptions, 'admit'>, AdmitOptions {}

/** Reads one DICOM series from a folder, a .zip, or a single (multi-frame) file, as a volume in RAS+ world space. */
export async function readDicomSeries(input: string, options: ReadDicomOptions = {}): Promise<Volume> {
  return (await openDicomSeries(input, options)).load();
}

/** Everything readDicomSeries checks before it reads a pixel (see openDicomSeriesFrom), its size admitted. */
export async function openDicomSeries(input: string, options: ReadDicomOptions = {}): Promise<OpenedVolume> {
  const source = await openDicomInput(input);
  return openDicomSeriesFrom(source, { ...options, admit: (header) => void admitVolume(header, options) });
}

/** Every series in the input, for `medparse info`: UID, modality, description, slices, grid. */
export async function listDicomSeries(input: string): Promise<DicomSeriesSummary[]> {
  return listDicomSeriesFrom(await openDicomInput(input));
}
