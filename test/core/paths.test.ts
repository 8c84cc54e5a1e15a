import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DATA_DIR,
  DEFAULT_MODEL_DIR,
  DEMO_SCAN,
  MODELS_DIR,
  PACKAGE_ROOT,
  dataFile,
  packageVersion,
} from '../../src/core/paths.js';
import { VOCABULARY_PATH } from '../../src/vocab/vocabulary-file.js';

test('the package root is the folder of package.json named medparse, found from the compiled module', () => {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  assert.equal(manifest.name, 'medparse');
  assert.equal(packageVersion(), manifest.version);
});

test('the shipped model, the vocabulary and the demo scan are where the package keeps them', () => {
  assert.equal(DEFAULT_MODEL_DIR, join(MODELS_DIR, 'medparse-default'));
  assert.ok(existsSync(join(DEFAULT_MODEL_DIR, 'model.json')), DEFAULT_MODEL_DIR);
  assert.equal(VOCABULARY_PATH, dataFile('vocabulary.json'));
  assert.ok(existsSync(VOCABULARY_PATH));
  assert.ok(existsSync(join(DATA_DIR, 'dataset-labels.json')));
  assert.ok(existsSync(DEMO_SCAN), DEMO_SCAN);
});
