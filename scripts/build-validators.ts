/**
 * Compiles the JSON schemas' validators ahead (ajv's standalone code), into dist/src/io/validators, so a
 * run loads them instead of importing ajv and compiling the schemas (src/io/documents.ts). Each carries
 * the sha256 of the schema it was built from; a validator of another schema is not used. Part of
 * `npm run build`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import {
  AJV_OPTIONS,
  precompiledValidatorPath,
  schemaDigest,
  schemaPath,
  type DocumentKind,
} from '../src/io/documents.js';

const KINDS: DocumentKind[] = ['report', 'labels', 'model'];

const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { source: true } });
for (const kind of KINDS) {
  const validate = ajv.compile(JSON.parse(readFileSync(schemaPath(kind), 'utf8')) as object);
  const path = precompiledValidatorPath(kind);
  mkdirSync(dirname(path), { recursive: true });
  const digest = `module.exports.schemaDigest = ${JSON.stringify(schemaDigest(kind))};\n`;
  writeFileSync(path, standaloneCode.default(ajv, validate) + '\n' + digest);
}
