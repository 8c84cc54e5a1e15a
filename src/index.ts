/**
 * medparse as a library: read and write volumes, resolve prompts, list models, and segment, detect or
 * recognize structures with a loaded model. Everything a user needs is exported here, and only that:
 * the modules behind it may change between versions, this surface changes only with the version number.
 */
export { readVolume, readVolumeHeader, writeVolume, createVolume } from './library/volumes.js';
export type { ReadVolumeOptions, WriteVolumeOptions, CreateVolumeOptions } from './library/volumes.js';
export { loadParser, Parser } from './library/parser.js';
export type { LoadParserOptions, RunOptions, Detection, DetectResult } from './library/parser.js';
export type { CallOptions } from './library/abort.js';
export { listModels } from './library/models.js';
export type { ModelSummary, NetworkSummary } from './library/models.js';
export { resolvePrompts } from './library/prompts.js';
export { writeResults } from './library/results-folder.js';
export type { WriteResultsOptions } from './library/results-folder.js';
export { MedparseError, isMedparseError, type MedparseErrorCode } from './core/errors.js';
export type { ProgressEvent, ProgressCallback } from './core/progress.js';
export type { Volume, VolumeMeta, VoxelArray, Dims3, Modality, DataType, DicomSeriesInfo } from './core/volume.js';
export type { Mat4, Vec3 } from './core/affine.js';
export type { VolumeHeader } from './io/read.js';
export type {
  ParseResult,
  PromptResult,
  PromptStatus,
  PromptEvidence,
  Instance,
  OrientationSearchReport,
} from './tasks/results.js';
export type { ParsedPrompt, ConceptRef, Category, Laterality, MatchKind } from './vocab/index.js';

import { packageVersion } from './core/paths.js';
/** The installed medparse's version. */
export const VERSION: string = packageVersion();
