/**
 * npm start: the main job on the built-in input. Describes the synthetic CT phantom, then parses it
 * with the shipped model, writing a results folder to out/demo (replaced on every run).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../src/cli/main.js';
import { DEFAULT_MODEL_DIR } from '../src/tasks/engine.js';

const DEMO_PROMPTS =
  'liver, spleen, both kidneys, the left kidney, vertebral column, left ventricle, hippocampus, banana';
const OUTPUT = join('out', 'demo');

console.log('$ medparse info --demo');
let code = await runCli(['info', '--demo']);
if (code === 0) {
  if (existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) {
    console.log(`\n$ medparse segment --demo -p "${DEMO_PROMPTS}" -o ${OUTPUT} --force`);
    code = await runCli(['segment', '--demo', '-p', DEMO_PROMPTS, '-o', OUTPUT, '--force']);
    if (code === 0)
      console.log(`\nopen ${join(OUTPUT, 'preview.png')} and ${join(OUTPUT, 'report.json')} to see the result`);
  } else {
    console.log(`\nno model package in ${DEFAULT_MODEL_DIR}: segmentation skipped`);
  }
}
process.exitCode = code;
