/**
 * npm start: the main job on a real scan shipped in the repository (data/demo/example_ct.nii.gz, an abdominal
 * CT from TotalSegmentator's examples; licence and attribution in data/demo/README.md). Describes it, then
 * parses it with the shipped model, writing a results folder to out/demo (replaced on every run) whose
 * preview shows the organs found. The synthetic phantom (`--demo`) stays for tests.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runCli } from '../src/cli/main.js';
import { DEFAULT_MODEL_DIR, DEMO_SCAN as SHIPPED_SCAN } from '../src/core/paths.js';

// shown as typed from the repository root
const DEMO_SCAN = relative(process.cwd(), SHIPPED_SCAN) || SHIPPED_SCAN;
// organs in the scan, one that is not (a brain in an abdominal CT) and one that is no anatomy at all
const DEMO_PROMPTS = 'liver, spleen, both kidneys, stomach, aorta, pancreas, gallbladder, brain, banana';
const OUTPUT = join('out', 'demo');

console.log(`$ medparse info ${DEMO_SCAN}`);
let code = await runCli(['info', DEMO_SCAN]);
if (code === 0) {
  if (existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) {
    console.log(`\n$ medparse segment ${DEMO_SCAN} -p "${DEMO_PROMPTS}" -o ${OUTPUT} --force`);
    code = await runCli(['segment', DEMO_SCAN, '-p', DEMO_PROMPTS, '-o', OUTPUT, '--force']);
    if (code === 0)
      console.log(`\nopen ${join(OUTPUT, 'preview.png')} and ${join(OUTPUT, 'report.json')} to see the result`);
  } else {
    console.log(`\nno model package in ${DEFAULT_MODEL_DIR}: segmentation skipped`);
  }
}
process.exitCode = code;
