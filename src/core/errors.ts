/**
 * The one error type medparse throws on purpose. Its message is a single line that names the file
 * (when there is one), what was wrong, and what to do; the CLI prints it without a stack trace.
 */
export type MedparseErrorCode =
  | 'FILE_NOT_FOUND'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_FILE'
  | 'TRUNCATED_FILE'
  | 'UNSUPPORTED_DATATYPE'
  | 'INVALID_DIMENSIONS'
  | 'MULTIPLE_VOLUMES'
  | 'MULTIPLE_SERIES'
  | 'EMPTY_INPUT'
  | 'INVALID_ARGUMENT'
  | 'OUTPUT_EXISTS'
  | 'WRITE_FAILED';

export class MedparseError extends Error {
  readonly code: MedparseErrorCode;
  readonly file: string | undefined;

  constructor(code: MedparseErrorCode, message: string, file?: string) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'MedparseError';
    this.code = code;
    this.file = file;
  }
}

export function isMedparseError(error: unknown): error is MedparseError {
  return error instanceof MedparseError;
}
