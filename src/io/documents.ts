import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import type { Ajv2020, ErrorObject, Options, ValidateFunction } from 'ajv/dist/2020.js';
import { MedparseError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-write.js';

/**
 * The JSON documents medparse publishes a schema for (schemas/*.schema.json, JSON Schema 2020-12):
 * report.json and labels.json of a results folder, and model.json of a model package. Every reader
 * and writer of them goes through here, so a document that does not match its schema is refused with
 * the file and the path of the first problem, and medparse never writes one.
 */
export type DocumentKind = 'report' | 'labels' | 'model';

/** Where the schemas lie: `schemas/` at the package root, beside `data/` (both shipped). */
export function schemaPath(kind: DocumentKind): string {
  return join(PACKAGE_ROOT, 'schemas', `${kind}.schema.json`);
}

/**
 * strict mode catches schema typos; the first error is enough for a one-line message; verbose keeps the
 * offending value for enum and const messages.
 */
export const AJV_OPTIONS: Options = { strict: true, allErrors: false, verbose: true };

/** Where `npm run build` leaves each schema's validator, compiled ahead (scripts/build-validators.ts). */
export function precompiledValidatorPath(kind: DocumentKind): string {
  return join(PACKAGE_ROOT, 'dist', 'src', 'io', 'validators', `${kind}.cjs`);
}

/** sha256 of a schema file's text: a precompiled validator serves only the schema it was built from. */
export function schemaDigest(kind: DocumentKind): string {
  return createHash('sha256')
    .update(readFileSync(schemaPath(kind), 'utf8'))
    .digest('hex');
}

const requireCommonJs = createRequire(import.meta.url);
let ajv: Ajv2020 | undefined;
const validators = new Map<DocumentKind, ValidateFunction>();

function validatorFor(kind: DocumentKind): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    validate = precompiledValidator(kind) ?? compileValidator(kind);
    validators.set(kind, validate);
  }
  return validate;
}

/**
 * The build's validator of `kind`, when it is there and was built from the schema as it is now. Loading
 * it takes milliseconds where importing ajv and compiling the three schemas took 0.3 to 0.5 s of every
 * run (profiled under load).
 */
function precompiledValidator(kind: DocumentKind): ValidateFunction | undefined {
  let module: ValidateFunction & { schemaDigest?: string };
  try {
    module = requireCommonJs(precompiledValidatorPath(kind)) as typeof module;
  } catch {
    return undefined;
  }
  return module.schemaDigest === schemaDigest(kind) ? module : undefined;
}

function compileValidator(kind: DocumentKind): ValidateFunction {
  // ajv is loaded only here, on the rare path: a build without validators or a schema changed since
  ajv ??= new (requireCommonJs('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020(AJV_OPTIONS);
  return ajv.compile(JSON.parse(readFileSync(schemaPath(kind), 'utf8')) as object);
}

/** The first way `value` breaks the schema of `kind` ("networks[0].input.spacing must have 3 items"), or undefined. */
export function documentProblem(kind: DocumentKind, value: unknown): string | undefined {
  const validate = validatorFor(kind);
  return validate(value) ? undefined : describeError(validate.errors?.[0]);
}

/** `value` as a `T` when it matches the schema of `kind`; otherwise a CORRUPT_FILE error naming `file` and the path. */
export function checkDocument<T>(kind: DocumentKind, value: unknown, file: string): T {
  const problem = documentProblem(kind, value);
  if (problem !== undefined)
    throw new MedparseError('CORRUPT_FILE', `not a valid ${basename(schemaPath(kind))} document: ${problem}`, file);
  return value as T;
}

/** Reads and validates a JSON document; a missing file, bad JSON or a schema mismatch is a one-line MedparseError. */
export function readDocument<T>(kind: DocumentKind, file: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new MedparseError(
      'FILE_NOT_FOUND',
      `cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`,
      file,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MedparseError('CORRUPT_FILE', `not valid JSON (${(error as Error).message})`, file);
  }
  return checkDocument<T>(kind, value, file);
}

/**
 * A document's text after checking it against its schema (a failure here is a medparse bug, caught
 * before a user gets the file). `indent` keeps each file's established layout.
 */
export function documentText(kind: DocumentKind, file: string, value: unknown, indent = 2): string {
  checkDocument(kind, value, file);
  return JSON.stringify(value, null, indent) + '\n';
}

/** Checks and writes a document atomically (a temporary file renamed into place). */
export async function writeDocument(kind: DocumentKind, file: string, value: unknown, indent = 2): Promise<void> {
  await writeFileAtomic(file, documentText(kind, file, value, indent));
}

/** writeDocument for synchronous callers. */
export function writeDocumentSync(kind: DocumentKind, file: string, value: unknown, indent = 2): void {
  writeFileAtomicSync(file, documentText(kind, file, value, indent));
}

/** JSON pointer "/networks/0/input" as a reader writes it: "networks[0].input". */
function readablePath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function describeError(error: ErrorObject | undefined): string {
  if (!error) return 'does not match its schema';
  const at = readablePath(error.instancePath);
  const where = (field: string) => (at ? `${at}.${field}` : field);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${where(String(params.missingProperty))} is missing`;
    case 'additionalProperties':
      return `${where(String(params.additionalProperty))} is not a known field`;
    case 'enum':
      return `${at || 'the document'} is ${JSON.stringify(error.data)}; expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${at || 'the document'} is ${JSON.stringify(error.data)}; expected ${JSON.stringify(params.allowedValue)}`;
    case 'pattern':
      return `${at} is ${JSON.stringify(error.data)}; expected ${String((error.parentSchema as { title?: string })?.title ?? `a match of ${String(params.pattern)}`)}`;
    case 'uniqueItems':
      return `${at} names the same item twice (items ${String(params.j)} and ${String(params.i)})`;
    case 'propertyNames':
      return `${at || 'the document'} has the key ${JSON.stringify(params.propertyName)}, which is not allowed here`;
    default:
      return `${at || 'the document'} ${error.message ?? 'does not match its schema'}`;
  }
}
