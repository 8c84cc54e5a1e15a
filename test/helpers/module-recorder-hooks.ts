/**
 * The loader hook of module-recorder.ts (it runs on the loader's own thread): writes each module's URL as
 * it loads, synchronously, so the list is whole even when the process ends abruptly.
 */
import { appendFileSync } from 'node:fs';
import type { LoadHook } from 'node:module';

export const load: LoadHook = (url, context, nextLoad) => {
  const target = process.env.MEDPARSE_TEST_MODULES_FILE;
  if (target) appendFileSync(target, `${url}\n`);
  return nextLoad(url, context);
};
