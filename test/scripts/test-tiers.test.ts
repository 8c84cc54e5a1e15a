import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { testFiles, tierOf } from '../../scripts/test.js';

describe('npm test tiers', () => {
  const files = testFiles();
  const name = (f: string) => relative(PACKAGE_ROOT, f);
  it('the real-data tier is exactly the test files that look for ../shared', () => {
    const real = files.filter((f) => tierOf(f) === 'real').map(name);
    const usingShared = files.filter((f) => /sharedDir\(\)/.test(readFileSync(f, 'utf8'))).map(name);
    assert.deepEqual(real, usingShared);
    assert.ok(real.includes('dist/test/io/geometry-truth.test.js'), real.join(', '));
  });

  it('every test file is in one tier, the fast one holding the rest', () => {
    const fast = files.filter((f) => tierOf(f) === 'fast').map(name);
    assert.ok(fast.includes('dist/test/cli/cli.test.js'), 'REPO_ROOT alone does not make a real-data test');
    assert.ok(fast.includes('dist/test/scripts/test-tiers.test.js'));
    assert.equal(fast.length + files.filter((f) => tierOf(f) === 'real').length, files.length);
  });
});
