/**
 * writeFileAtomic and writeFileAtomicSync: the file appears whole or not at all, and a write that
 * cannot be made is refused in one line naming the file, with no temporary file left behind.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MedparseError } from '../../src/core/errors.js';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomic-write.js';
import { withTempDir } from '../helpers/volumes.js';

describe('atomic writes', () => {
  it('write the file (creating its folder) and leave nothing else', () =>
    withTempDir(async (dir) => {
      await writeFileAtomic(join(dir, 'a', 'report.json'), '{"ok":1}');
      writeFileAtomicSync(join(dir, 'b', 'model.json'), new Uint8Array([1, 2, 3]));
      assert.equal(readFileSync(join(dir, 'a', 'report.json'), 'utf8'), '{"ok":1}');
      assert.deepEqual([...readFileSync(join(dir, 'b', 'model.json'))], [1, 2, 3]);
      assert.deepEqual(readdirSync(join(dir, 'a')), ['report.json']);
      assert.deepEqual(readdirSync(join(dir, 'b')), ['model.json']);
    }));

  it('refuse, in one line naming the file, a write whose folder is a file; no temporary file is left', () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'blocker'), 'a file where a folder should be');
      const target = join(dir, 'blocker', 'report.json');
      const refused = (error: unknown) =>
        error instanceof MedparseError &&
        error.code === 'WRITE_FAILED' &&
        /could not write the file \(.*\); check the folder exists, is writable and has space/.test(error.message) &&
        error.message.includes(target);
      await assert.rejects(writeFileAtomic(target, 'x'), refused);
      assert.throws(() => writeFileAtomicSync(target, 'x'), refused);
      assert.deepEqual(readdirSync(dir), ['blocker']);
    }));
});
