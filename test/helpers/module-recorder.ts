/**
 * Loaded with `node --import` by tests that check what a process loads (test/cli/startup.test.ts):
 * appends the URL of every module the process loads to the file named by MEDPARSE_TEST_MODULES_FILE,
 * one a line. ES modules are recorded by a loader hook as they load; CommonJS ones required from
 * CommonJS never pass the hooks, so require.cache is added when the process exits.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const target = process.env.MEDPARSE_TEST_MODULES_FILE;
if (target) {
  register('./module-recorder-hooks.js', import.meta.url);
  const commonJs = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    const urls = Object.keys(commonJs).map((path) => `${pathToFileURL(path).href}\n`);
    appendFileSync(target, urls.join(''));
  });
}
