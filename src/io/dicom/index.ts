/** DICOM input: one series from a folder, a .zip or a multi-frame file, as a RAS+ volume. */
export { listDicomSeries, openDicomSeries, readDicomSeries } from './read-files.js';
export type { ReadDicomOptions } from './read-files.js';
export { formatSeriesList } from './series.js';
export type { DicomSeriesSummary } from './series.js';
