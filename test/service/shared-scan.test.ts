import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { affinesClose } from '../../src/core/affine.js';
import { readVolume } from '../../src/io/read.js';
import { DEFAULT_MODEL_DIR } from '../../src/core/paths.js';
import { SHARED_MISSING, sharedDir } from '../helpers/shared.js';
import { fileUpload, niftiVoxels, startService, submit, waitForState, type RunningService } from './helpers.js';

const shared = sharedDir();
const scan = shared ? join(shared, 'data', 'openkbp', 'pt_10_ct.nii.gz') : undefined;
const skip = !scan ? SHARED_MISSING : !existsSync(scan) ? `skipped: ${scan} is not in ../shared` : false;

describe('medparse serve on a real CT from ../shared with the shipped model', { skip }, () => {
  let root: string;
  let running: RunningService;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-serve-real-'));
    running = await startService({ dataDir: join(root, 'data'), modelDir: DEFAULT_MODEL_DIR, workers: 1 });
  });
  after(async () => {
    await running.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a head-and-neck CT (OpenKBP): the answers, and masks on the input grid', async () => {
    // one run only (the CLI equality is shown on generated volumes): the shipped model is slow on 2 cores
    const response = await submit(running.url, { task: 'segment', prompts: 'mandible, spinal cord, liver' }, [
      fileUpload(scan as string, 'pt_10_ct.nii.gz'),
    ]);
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const job = await waitForState(running.url, id, ['done', 'failed'], 900_000, 500);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const report = (await (await fetch(`${running.url}/v1/jobs/${id}/report`)).json()) as {
      prompts: Array<{ text: string; status: string; mask_file: string | null }>;
    };
    const status = Object.fromEntries(report.prompts.map((p) => [p.text, p.status]));
    assert.equal(status.mandible, 'present');
    assert.notEqual(status.liver, 'present', 'no liver in a head-and-neck CT');
    const input = await readVolume(scan as string);
    const mandible = report.prompts.find((p) => p.text === 'mandible')?.mask_file as string;
    for (const name of ['labels.nii.gz', mandible]) {
      const served = niftiVoxels(
        new Uint8Array(await (await fetch(`${running.url}/v1/jobs/${id}/files/${name}`)).arrayBuffer()),
      );
      assert.deepEqual(served.dims, input.dims, name);
      assert.ok(affinesClose(served.affine, input.affine, 1e-4), `${name} keeps the input's affine`);
    }
  });
});
