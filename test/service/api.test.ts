import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { runCli } from '../../src/cli/main.js';
import { affinesClose } from '../../src/core/affine.js';
import { readReport } from '../../src/tasks/report.js';
import { writeSeries, zipFiles } from '../io/dicom/make-series.js';
import { writeTestModel } from '../helpers/test-model.js';
import {
  fileUpload,
  getJob,
  isAlive,
  niftiVoxels,
  startService,
  submit,
  waitForState,
  waitUntil,
  writePhantom,
  type JobJson,
  type RunningService,
  type Upload,
} from './helpers.js';

describe('medparse serve: the API over real HTTP (embedded queue, test model)', () => {
  let root: string;
  let model: string;
  let phantom: string;
  let running: RunningService;
  let url: string;
  const jobsDir = () => join(root, 'data', 'jobs');

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'medparse-serve-'));
    model = writeTestModel(join(root, 'model'));
    phantom = await writePhantom(join(root, 'phantom.nii.gz'));
    running = await startService({ dataDir: join(root, 'data'), modelDir: model, workers: 1, maxAttempts: 2 });
    url = running.url;
  });
  after(async () => {
    await running.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs an upload to done; the report and every file it lists are served and equal the CLI run', async () => {
    const response = await submit(url, { task: 'segment', prompts: 'kidneys, spine, banana' }, [
      fileUpload(phantom, '../../../etc/passwd.nii.gz'),
    ]);
    assert.equal(response.status, 202, await response.clone().text());
    const submitted = (await response.json()) as { id: string; url: string; state: string };
    assert.equal(submitted.url, `/v1/jobs/${submitted.id}`);
    assert.equal(response.headers.get('location'), submitted.url);
    // the client's name is not used: the upload is stored under a name the server chose
    assert.deepEqual(readdirSync(join(jobsDir(), submitted.id, 'input')), ['image.nii.gz']);

    const events = await fetch(`${url}${submitted.url}/events`).then((r) => r.text());
    const names = [...events.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.equal(names.at(-1), 'done', events);
    const stages = [...events.matchAll(/^data: (.*)$/gm)]
      .map((m) => JSON.parse(m[1]) as { stage?: string })
      .map((d) => d.stage);
    assert.ok(stages.includes('inference'), `the CLI's inference stage is streamed: ${stages}`);

    const job = await getJob(url, submitted.id);
    assert.equal(job.state, 'done');
    assert.equal(job.attempts, 1);
    const report = (await fetch(`${url}${job.links.report}`).then((r) => r.json())) as {
      prompts: Array<{ text: string; status: string; mask_file: string | null }>;
      files: Record<string, string>;
    };
    assert.deepEqual(
      report.prompts.map((p) => [p.text, p.status]),
      [
        ['kidneys', 'present'],
        ['spine', 'present'],
        ['banana', 'unknown'],
      ],
    );
    const served = job.links.files.map((f) => f.split('/').pop());
    for (const name of ['report.json', 'labels.nii.gz', 'labels.json', 'preview.png', 'kidney.nii.gz'])
      assert.ok(served.includes(name), `${name} in ${served}`);
    for (const link of job.links.files) assert.equal((await fetch(url + link)).status, 200, link);

    // the same input through the CLI gives the same label map and the same answers
    const cliDir = join(root, 'cli-out');
    const code = await runCli(
      ['segment', phantom, '-p', 'kidneys, spine, banana', '-o', cliDir, '--model', model, '--quiet'],
      {
        stdout: () => {},
        stderr: () => {},
      },
    );
    assert.equal(code, 0);
    const servedLabels = Buffer.from(await (await fetch(`${url}${job.url}/files/labels.nii.gz`)).arrayBuffer());
    const cliLabels = niftiVoxels(readFileSync(join(cliDir, 'labels.nii.gz')));
    const serviceLabels = niftiVoxels(servedLabels);
    assert.deepEqual(serviceLabels.dims, cliLabels.dims);
    assert.deepEqual(serviceLabels.affine, cliLabels.affine);
    assert.deepEqual(Buffer.from(serviceLabels.data.buffer), Buffer.from(cliLabels.data.buffer));
    const cliReport = readReport(cliDir);
    assert.deepEqual(report.prompts, cliReport.prompts);
    assert.deepEqual(report.files, cliReport.files);
  });

  it('answers schema errors with 400 and a message that names the field, and keeps nothing of them', async () => {
    const before = readdirSync(jobsDir()).sort();
    const file = [fileUpload(phantom)];
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ task: 'sgment', prompts: 'liver' }, /"task".*one of: segment, detect, recognize/],
      [{ task: 'segment' }, /segment needs prompts/],
      [{ task: 'recognize', prompts: 'liver' }, /recognize .* takes no prompts/],
      [{ task: 'segment', prompts: 'liver', modality: 'PET' }, /"modality".*one of: CT, MR/],
      [{ task: 'segment', prompts: 'liver', volume: '-1' }, /"volume"/],
      [{ task: 'segment', prompts: 'liver', colour: 'red' }, /unknown field "colour"/],
      [{ prompts: 'liver' }, /"task" is required/],
    ];
    for (const [fields, message] of cases) {
      const response = await submit(url, fields, file);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(body.error.message, message);
    }
    const noFile = await submit(url, { task: 'segment', prompts: 'liver' }, []);
    assert.equal(noFile.status, 400);
    assert.match(((await noFile.json()) as { error: { message: string } }).error.message, /"file" is required/);
    const form = new FormData();
    form.append('task', 'recognize');
    form.append('image', new Blob([new Uint8Array(10)]), 'x.nii');
    const wrongField = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form });
    assert.equal(wrongField.status, 400);
    assert.match(
      ((await wrongField.json()) as { error: { message: string } }).error.message,
      /"file" field, not "image"/,
    );
    const notMultipart = await fetch(`${url}/v1/jobs`, {
      method: 'POST',
      body: '{"task":"recognize"}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notMultipart.status, 400);
    assert.deepEqual(readdirSync(jobsDir()).sort(), before, 'a refused upload leaves no folder');
  });

  it('serves only the files the report lists: anything else, traversal included, is 404', async () => {
    const [done] = await listJobs('done');
    const base = `${url}/v1/jobs/${done.id}/files/`;
    for (const name of [
      'job.json',
      '..%2Fjob.json',
      '..%2F..%2F..%2Fetc%2Fpasswd',
      'input',
      '%2Fetc%2Fpasswd',
      'brain.nii.gz',
    ]) {
      const response = await fetch(base + name);
      assert.equal(response.status, 404, name);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'NO_SUCH_FILE');
    }
    assert.equal((await fetch(`${url}/v1/jobs/00000000-0000-4000-8000-000000000000`)).status, 404);
    assert.equal(
      (await fetch(`${url}/v1/jobs/..%2F..%2Fetc`)).status,
      400,
      'an id that is not a uuid never reaches the disk',
    );
  });

  it("refuses an upload that is not a readable image with 400 and the reader's message, before any job", async () => {
    const before = readdirSync(jobsDir()).sort();
    const header = new Uint8Array(348);
    new DataView(header.buffer).setInt32(0, 348, true);
    const cases: Array<[string, Upload[], string, RegExp]> = [
      [
        'text',
        [{ name: 'scan.nii.gz', bytes: new TextEncoder().encode('not an image at all') }],
        'CORRUPT_FILE|UNSUPPORTED_FORMAT|TRUNCATED_FILE',
        /scan|image/,
      ],
      ['empty', [{ name: 'scan.nii', bytes: new Uint8Array(0) }], 'EMPTY_INPUT', /empty/],
      [
        'bad NIfTI header',
        [{ name: 'scan.nii', bytes: header }],
        'CORRUPT_FILE|INVALID_DIMENSIONS',
        /input\/image\.nii/,
      ],
      [
        'unknown extension',
        [{ name: 'scan.png', bytes: readFileSync(phantom) }],
        'EMPTY_INPUT|CORRUPT_FILE|UNSUPPORTED_FORMAT',
        /DICOM|not/,
      ],
      [
        'files that are not DICOM',
        [
          { name: 'a.dcm', bytes: new Uint8Array(200) },
          { name: 'b.dcm', bytes: new Uint8Array(200) },
        ],
        'EMPTY_INPUT',
        /not DICOM/,
      ],
      [
        'a zip of text',
        [{ name: 'study.zip', bytes: new TextEncoder().encode('PK not really') }],
        'CORRUPT_FILE|EMPTY_INPUT|UNSUPPORTED_FORMAT',
        /zip|DICOM/,
      ],
    ];
    for (const [what, files, code, message] of cases) {
      const response = await submit(url, { task: 'recognize' }, files);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(response.status, 400, `${what}: ${JSON.stringify(body)}`);
      assert.match(body.error.code, new RegExp(`^(${code})$`), what);
      assert.match(body.error.message, message, what);
      assert.ok(!body.error.message.includes(root), `${what}: no server path in ${body.error.message}`);
    }
    // the choice of time point is checked against the header as well
    const volume = await submit(url, { task: 'recognize', volume: '3' }, [fileUpload(phantom)]);
    assert.equal(volume.status, 400);
    assert.match(((await volume.json()) as { error: { message: string } }).error.message, /volume 3 is out of range/);
    assert.deepEqual(readdirSync(jobsDir()).sort(), before, 'a refused upload leaves no job folder');
  });

  it('DELETE cancels a running job (its worker process is ended) and removes a finished one', async () => {
    const response = await submit(url, { task: 'recognize' }, [fileUpload(phantom)]);
    const { id } = (await response.json()) as { id: string };
    await waitForState(url, id, ['running'], 60_000, 10);
    const pid = await waitForPid(id);
    const cancelled = await fetch(`${url}/v1/jobs/${id}`, { method: 'DELETE' });
    assert.equal(cancelled.status, 200);
    assert.equal(((await cancelled.json()) as JobJson).state, 'cancelled');
    const job = await waitForState(url, id, ['cancelled', 'done']);
    assert.equal(job.state, 'cancelled');
    await waitUntil(() => !isAlive(pid), "the cancelled job's worker process ends");
    assert.equal((await fetch(`${url}/v1/jobs/${id}/report`)).status, 409);
    // the pool has a fresh worker: the next job runs
    const next = (await (await submit(url, { task: 'segment', prompts: 'kidney' }, [fileUpload(phantom)])).json()) as {
      id: string;
    };
    assert.equal((await waitForState(url, next.id, ['done', 'failed'])).state, 'done');
    const removed = await fetch(`${url}/v1/jobs/${next.id}`, { method: 'DELETE' });
    assert.equal(removed.status, 204);
    assert.equal((await fetch(`${url}/v1/jobs/${next.id}`)).status, 404);
    assert.ok(!readdirSync(jobsDir()).includes(next.id));
  });

  it('POST cancel never loses results: a job that finished first answers 409 and keeps them; a running one is cancelled', async () => {
    // the viewer's Cancel racing the job's end, made deterministic: the job finishes, then the cancel arrives
    const done = (await (await submit(url, { task: 'segment', prompts: 'kidney' }, [fileUpload(phantom)])).json()) as {
      id: string;
    };
    const finished = await waitForState(url, done.id, ['done', 'failed']);
    assert.equal(finished.state, 'done');
    const late = await fetch(`${url}/v1/jobs/${done.id}/cancel`, { method: 'POST' });
    assert.equal(late.status, 409);
    const { error } = (await late.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'ALREADY_FINISHED');
    assert.match(error.message, /already ended done: nothing to cancel; its results are kept/);
    const after = await getJob(url, done.id);
    assert.equal(after.state, 'done');
    assert.deepEqual(after.links.files, finished.links.files);
    const report = (await fetch(`${url}${after.links.report}`).then((r) => r.json())) as {
      prompts: Array<{ text: string; status: string }>;
    };
    assert.deepEqual(
      report.prompts.map((p) => [p.text, p.status]),
      [['kidney', 'present']],
    );
    for (const file of after.links.files) assert.equal((await fetch(`${url}${file}`)).status, 200, file);

    const response = await submit(url, { task: 'recognize' }, [fileUpload(phantom)]);
    const { id } = (await response.json()) as { id: string };
    await waitForState(url, id, ['running'], 60_000, 10);
    const cancelled = await fetch(`${url}/v1/jobs/${id}/cancel`, { method: 'POST' });
    assert.equal(cancelled.status, 200);
    assert.equal(((await cancelled.json()) as JobJson).state, 'cancelled');
    assert.equal((await waitForState(url, id, ['cancelled', 'done'])).state, 'cancelled');
    // a second cancel of a cancelled job is answered the same; nothing was removed
    assert.equal((await fetch(`${url}/v1/jobs/${id}/cancel`, { method: 'POST' })).status, 200);
    assert.ok(readdirSync(jobsDir()).includes(id));
    assert.equal(
      (await fetch(`${url}/v1/jobs/00000000-0000-4000-8000-000000000000/cancel`, { method: 'POST' })).status,
      404,
    );
  });

  it('a worker that crashes mid-job is replaced: the job runs again, and fails with the reason after its last attempt; the server lives', async () => {
    const response = await submit(url, { task: 'segment', prompts: 'kidney' }, [fileUpload(phantom)]);
    const { id } = (await response.json()) as { id: string };
    await waitForState(url, id, ['running'], 60_000, 10);
    process.kill(await waitForPid(id), 'SIGKILL');
    // attempt 2 of 2 runs; crash it too
    await waitUntil(
      async () => (await getJob(url, id)).attempts === 2 && pidOf(id) !== undefined,
      'a second attempt starts',
    );
    process.kill(await waitForPid(id), 'SIGKILL');
    const job = await waitForState(url, id, ['failed', 'done']);
    assert.equal(job.state, 'failed');
    assert.equal(job.error?.code, 'WORKER_CRASHED');
    assert.match(job.error?.message ?? '', /gave up after 2 attempts; last: worker process killed by SIGKILL/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    // one crash, then success: the job is done on its second attempt
    const again = (await (await submit(url, { task: 'segment', prompts: 'kidney' }, [fileUpload(phantom)])).json()) as {
      id: string;
    };
    await waitForState(url, again.id, ['running'], 60_000, 10);
    process.kill(await waitForPid(again.id), 'SIGKILL');
    const recovered = await waitForState(url, again.id, ['done', 'failed']);
    assert.equal(recovered.state, 'done');
    assert.equal(recovered.attempts, 2);
  });

  it('lists jobs in pages, newest first', async () => {
    const all = (await fetch(`${url}/v1/jobs?limit=100`).then((r) => r.json())) as { jobs: JobJson[]; total: number };
    assert.ok(all.total >= 4);
    const first = (await fetch(`${url}/v1/jobs?limit=2`).then((r) => r.json())) as { jobs: JobJson[]; next: string };
    assert.deepEqual(
      first.jobs.map((j) => j.id),
      all.jobs.slice(0, 2).map((j) => j.id),
    );
    const second = (await fetch(url + first.next).then((r) => r.json())) as { jobs: JobJson[] };
    assert.deepEqual(
      second.jobs.map((j) => j.id),
      all.jobs.slice(2, 4).map((j) => j.id),
    );
    assert.equal((await fetch(`${url}/v1/jobs?limit=0`)).status, 400);
  });

  it('models, vocabulary, health and Prometheus metrics', async () => {
    const models = (await fetch(`${url}/v1/models`).then((r) => r.json())) as {
      models: Array<{ name: string; networks: Array<{ concepts: string[] }> }>;
    };
    assert.equal(models.models[0].name, 'test-bands');
    assert.ok(models.models[0].networks[0].concepts.includes('kidney'));
    const resolved = (await fetch(
      `${url}/v1/vocabulary/resolve?text=${encodeURIComponent('both kidneys and the lvier')}`,
    ).then((r) => r.json())) as { prompts: Array<{ status: string; concepts: Array<{ id: string }> }> };
    assert.equal(resolved.prompts.length, 2);
    assert.equal(resolved.prompts[1].concepts[0].id, 'liver');
    assert.equal((await fetch(`${url}/v1/vocabulary/resolve`)).status, 400);
    const health = (await fetch(`${url}/healthz`).then((r) => r.json())) as { status: string; queue: string };
    assert.deepEqual([health.status, health.queue], ['ok', 'embedded']);
    const metrics = await fetch(`${url}/metrics`).then((r) => r.text());
    const done = listJobsSync().filter((r) => r === 'done').length;
    assert.match(metrics, new RegExp(`^medparse_jobs\\{state="done"\\} ${done}$`, 'm'));
    assert.match(metrics, /^medparse_jobs\{state="failed"\} [1-9]/m);
    assert.match(metrics, /^medparse_job_duration_seconds_count [1-9]/m);
    assert.match(metrics, /^medparse_queue_depth 0$/m);
  });

  it('GET /openapi.json is a valid OpenAPI 3.1 document that covers every route', async () => {
    const document = (await fetch(`${url}/openapi.json`).then((r) => r.json())) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    assert.equal(document.openapi, '3.1.0');
    const result = await new Validator().validate(document as never);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    const routes: Array<[string, string]> = [
      ['post', '/v1/jobs'],
      ['get', '/v1/jobs'],
      ['get', '/v1/jobs/{id}'],
      ['delete', '/v1/jobs/{id}'],
      ['get', '/v1/jobs/{id}/events'],
      ['get', '/v1/jobs/{id}/report'],
      ['get', '/v1/jobs/{id}/files/{name}'],
      ['get', '/v1/models'],
      ['get', '/v1/vocabulary/resolve'],
      ['get', '/healthz'],
      ['get', '/metrics'],
      ['get', '/info/'],
      ['post', '/infer/{model}'],
      ['put', '/session/'],
      ['get', '/session/{id}'],
    ];
    for (const [method, path] of routes) assert.ok(document.paths[path]?.[method], `${method} ${path}`);
    const post = document.paths['/v1/jobs'].post as { requestBody: { content: Record<string, unknown> } };
    assert.ok(post.requestBody.content['multipart/form-data'], 'the upload is documented as multipart');
  });

  it("MONAI Label: /info/ lists the model's concepts as labels; /infer answers multipart params + label map", async () => {
    const info = (await fetch(`${url}/info/`).then((r) => r.json())) as {
      name: string;
      labels: string[];
      models: Record<string, { type: string; labels: Record<string, number>; dimension: number }>;
    };
    assert.ok(info.labels.includes('kidney'));
    const entry = info.models['test-bands'];
    assert.equal(entry.type, 'segmentation');
    assert.equal(entry.dimension, 3);
    assert.equal(entry.labels.kidney, 1);

    const form = new FormData();
    form.append('params', JSON.stringify({ prompts: ['kidney', 'spine'] }));
    form.append('file', new Blob([readFileSync(phantom)]), 'image.nii.gz');
    const response = await fetch(`${url}/infer/test-bands`, { method: 'POST', body: form });
    assert.equal(response.status, 200, await response.clone().text());
    assert.match(response.headers.get('content-type') ?? '', /^multipart\/form-data; boundary=/);
    const parts = await response.formData();
    const params = JSON.parse(String(parts.get('params'))) as { label_names: Record<string, number> };
    assert.deepEqual(Object.keys(params.label_names).sort(), ['kidney', 'vertebral column']);
    const image = parts.get('image') as File;
    assert.equal(image.name, 'labels.nii.gz');
    const labels = niftiVoxels(new Uint8Array(await image.arrayBuffer()));
    assert.deepEqual(labels.dims, [128, 128, 64]);
    assert.deepEqual(new Set(labels.data), new Set([0, ...Object.values(params.label_names)]));

    const json = new FormData();
    json.append('file', new Blob([readFileSync(phantom)]), 'image.nii.gz');
    const jsonOnly = await fetch(`${url}/infer/test-bands?output=json`, { method: 'POST', body: json });
    assert.equal(jsonOnly.status, 200);
    const recognized = (await jsonOnly.json()) as { label_names: Record<string, number> };
    assert.deepEqual(Object.keys(recognized.label_names).sort(), ['kidney', 'vertebral column']);
    // Slicer's way for a volume it shows: PUT /session/ once ("files"), then infer by session_id
    const upload = new FormData();
    upload.append('files', new Blob([readFileSync(phantom)]), 'volume.nii.gz');
    const created = await fetch(`${url}/session/`, { method: 'PUT', body: upload });
    assert.equal(created.status, 200, await created.clone().text());
    const session = ((await created.json()) as { session_id: string }).session_id;
    assert.equal((await fetch(`${url}/session/${session}`)).status, 200);
    const bySession = new FormData();
    bySession.append('params', JSON.stringify({ prompts: 'kidney' }));
    const inferred = await fetch(`${url}/infer/test-bands?image=volume&session_id=${session}&output=json`, {
      method: 'POST',
      body: bySession,
    });
    assert.equal(inferred.status, 200, await inferred.clone().text());
    assert.deepEqual(Object.keys(((await inferred.json()) as { label_names: object }).label_names), ['kidney']);
    const noImage = new FormData();
    noImage.append('params', '{}');
    const refused = await fetch(`${url}/infer/test-bands?image=volume`, { method: 'POST', body: noImage });
    assert.equal(refused.status, 404, 'no such datastore image');
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /PUT \/datastore\//);
    const none = new FormData();
    none.append('params', '{}');
    const noneAtAll = await fetch(`${url}/infer/test-bands`, { method: 'POST', body: none });
    assert.equal(noneAtAll.status, 400);
    assert.match(((await noneAtAll.json()) as { error: { message: string } }).error.message, /PUT \/session\//);
    assert.equal((await fetch(`${url}/session/${session}`, { method: 'DELETE' })).status, 200);
    assert.equal((await fetch(`${url}/session/${session}`)).status, 404);

    const unknown = new FormData();
    unknown.append('file', new Blob([readFileSync(phantom)]), 'image.nii.gz');
    assert.equal((await fetch(`${url}/infer/no-such-model`, { method: 'POST', body: unknown })).status, 404);
  });

  it("MONAI Label: Slicer's round trip (info, upload to the datastore, infer by image id, labels by position)", async () => {
    const info = (await fetch(`${url}/info/`).then((r) => r.json())) as {
      labels: string[];
      models: Record<string, { type: string; config: Record<string, unknown> }>;
      datastore: { total: number };
    };
    // Slicer sends the model's config with each inference, a list as its first entry, plus its client id
    const config = info.models['test-bands'].config;
    const params = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
    assert.deepEqual(params, { prompts: '', modality: 'auto' });
    const sent = JSON.stringify({ ...params, client_id: 'user-xyz' });

    const upload = new FormData();
    upload.append('params', sent);
    upload.append('file', new Blob([readFileSync(phantom)]), 'tmpab12.nii.gz');
    const put = await fetch(`${url}/datastore/?image=${encodeURIComponent('Phantom CT')}`, {
      method: 'PUT',
      body: upload,
    });
    assert.equal(put.status, 200, await put.clone().text());
    assert.deepEqual(await put.json(), { image: 'Phantom CT' });
    const stats = (await fetch(`${url}/datastore/`).then((r) => r.json())) as { total: number };
    assert.equal(stats.total, info.datastore.total + 1);
    const all = (await fetch(`${url}/datastore/?output=all`).then((r) => r.json())) as {
      objects: Record<string, { image: { ext: string } }>;
    };
    assert.equal(all.objects['Phantom CT'].image.ext, '.nii.gz');
    const download = await fetch(`${url}/datastore/image?image=${encodeURIComponent('Phantom CT')}`);
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), readFileSync(phantom));

    const form = new FormData();
    form.append('params', sent);
    const response = await fetch(`${url}/infer/test-bands?image=${encodeURIComponent('Phantom CT')}`, {
      method: 'POST',
      body: form,
    });
    assert.equal(response.status, 200, await response.clone().text());
    const parts = await response.formData();
    const result = JSON.parse(String(parts.get('params'))) as { label_names: Record<string, number> };
    // Slicer gives value n the n-th name of label_names sorted by value, among the segments of info.labels
    const byValue = Object.entries(result.label_names).sort((a, b) => a[1] - b[1]);
    assert.ok(byValue.length > 0);
    byValue.forEach(([name, value], n) => {
      assert.equal(value, n + 1, `${name}: values run 1..N`);
      assert.ok(info.labels.includes(name), `${name} is one of /info/'s labels`);
    });
    const labels = niftiVoxels(new Uint8Array(await (parts.get('image') as File).arrayBuffer()));
    assert.deepEqual(labels.dims, [128, 128, 64]);
    assert.ok(Math.max(...new Set(labels.data)) <= byValue.length, 'no value without a name');

    // a re-used id replaces the image; DELETE removes it; junk is refused at upload
    const junk = new FormData();
    junk.append('file', new Blob([new TextEncoder().encode('not an image')]), 'x.nii.gz');
    const refused = await fetch(`${url}/datastore/?image=junk`, { method: 'PUT', body: junk });
    assert.equal(refused.status, 400);
    const junkSession = new FormData();
    junkSession.append('files', new Blob([new TextEncoder().encode('not an image')]), 'x.nii.gz');
    assert.equal((await fetch(`${url}/session/`, { method: 'PUT', body: junkSession })).status, 400);
    const deleted = await fetch(`${url}/datastore/?id=${encodeURIComponent('Phantom CT')}&type=image`, {
      method: 'DELETE',
    });
    assert.equal(deleted.status, 200);
    assert.equal((await fetch(`${url}/datastore/image?image=${encodeURIComponent('Phantom CT')}`)).status, 404);
    assert.deepEqual(readdirSync(join(root, 'data', 'datastore')), [], 'nothing left of the refused or removed images');
  });

  it('several DICOM files of one series (names and order as the client likes) run as one volume on its grid', async () => {
    const series = await writeSeries(join(root, 'dicom-series'), {
      columns: 40,
      rows: 36,
      slices: 10,
      extension: false,
    });
    const files = [...series.files]
      .reverse()
      .map((path, n) => fileUpload(path, n % 2 ? `IM${n}` : `../slice ${n}.dcm`));
    const response = await submit(url, { task: 'segment', prompts: 'kidney, spine' }, files);
    assert.equal(response.status, 202, await response.clone().text());
    const { id } = (await response.json()) as { id: string };
    const job = await waitForState(url, id, ['done', 'failed']);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const report = (await (await fetch(`${url}/v1/jobs/${id}/report`)).json()) as {
      input: { format: string; dims: number[]; dicom?: { series_instance_uid: string } };
    };
    assert.equal(report.input.format, 'dicom');
    assert.deepEqual(report.input.dims, series.dims);
    assert.equal(report.input.dicom?.series_instance_uid, series.seriesUid);
    const labels = niftiVoxels(
      new Uint8Array(await (await fetch(`${url}/v1/jobs/${id}/files/labels.nii.gz`)).arrayBuffer()),
    );
    assert.deepEqual(labels.dims, series.dims);
    assert.ok(affinesClose(labels.affine, series.expectedAffine, 1e-4), 'the series affine');

    const zipPath = join(root, 'series.zip');
    await zipFiles(Object.fromEntries(series.files.map((path, n) => [`study/IM${n}`, readFileSync(path)])), zipPath);
    const zipped = await submit(url, { task: 'segment', prompts: 'kidney' }, [fileUpload(zipPath, 'export.zip')]);
    assert.equal(zipped.status, 202, await zipped.clone().text());
    const zipJob = await waitForState(url, ((await zipped.json()) as { id: string }).id, ['done', 'failed']);
    assert.equal(zipJob.state, 'done', JSON.stringify(zipJob.error));
  });

  function pidOf(id: string): number | undefined {
    const queue = running.service.context.queue as { pool?: { pidOf(id: string): number | undefined } };
    return queue.pool?.pidOf(id);
  }

  async function waitForPid(id: string): Promise<number> {
    let pid: number | undefined;
    await waitUntil(() => (pid = pidOf(id)) !== undefined, `job ${id} is on a worker`);
    return pid as number;
  }

  async function listJobs(state: string): Promise<JobJson[]> {
    return ((await fetch(`${url}/v1/jobs?state=${state}&limit=100`).then((r) => r.json())) as { jobs: JobJson[] }).jobs;
  }

  function listJobsSync(): string[] {
    return readdirSync(jobsDir()).map((id) => {
      try {
        return (JSON.parse(readFileSync(join(jobsDir(), id, 'job.json'), 'utf8')) as { state: string }).state;
      } catch {
        return 'none';
      }
    });
  }
});

describe('medparse serve: limits and keys', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'medparse-serve-limits-'));
    writeTestModel(join(root, 'model'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('refuses an upload over --max-upload-mb with 413 and keeps nothing of it', async () => {
    const running = await startService({ dataDir: join(root, 'small'), modelDir: join(root, 'model'), maxUploadMb: 1 });
    try {
      const big = { name: 'big.nii.gz', bytes: new Uint8Array(3 * 2 ** 20) };
      const response = await submit(running.url, { task: 'recognize' }, [big]);
      assert.equal(response.status, 413);
      assert.deepEqual(readdirSync(join(root, 'small', 'jobs')), []);
      const many = await submit(running.url, { task: 'recognize' }, [
        { name: 'a.dcm', bytes: new Uint8Array(600_000) },
        { name: 'b.dcm', bytes: new Uint8Array(600_000) },
      ]);
      assert.equal(many.status, 413, 'the limit is on the whole upload, not each file');
      assert.deepEqual(readdirSync(join(root, 'small', 'jobs')), []);
    } finally {
      await running.close();
    }
  });

  it('refuses more files than --max-files with 413', async () => {
    const running = await startService({ dataDir: join(root, 'files'), modelDir: join(root, 'model'), maxFiles: 2 });
    try {
      const files = [1, 2, 3].map((n) => ({ name: `${n}.dcm`, bytes: new Uint8Array(100) }));
      const response = await submit(running.url, { task: 'recognize' }, files);
      assert.equal(response.status, 413);
      assert.deepEqual(readdirSync(join(root, 'files', 'jobs')), []);
    } finally {
      await running.close();
    }
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    const running = await startService({ dataDir: join(root, 'full'), modelDir: join(root, 'model'), maxQueue: 0 });
    try {
      const response = await submit(running.url, { task: 'recognize' }, [
        { name: 'a.nii', bytes: new Uint8Array(400) },
      ]);
      assert.equal(response.status, 503);
      assert.ok(Number(response.headers.get('retry-after')) > 0);
    } finally {
      await running.close();
    }
  });

  it('with an API key, every route but /healthz needs the bearer token', async () => {
    const running = await startService({
      dataDir: join(root, 'key'),
      modelDir: join(root, 'model'),
      apiKey: 's3cret-key',
    });
    try {
      assert.equal((await fetch(`${running.url}/healthz`)).status, 200);
      for (const path of ['/v1/models', '/v1/jobs', '/metrics', '/openapi.json', '/info/']) {
        const refused = await fetch(running.url + path);
        assert.equal(refused.status, 401, path);
        assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
        assert.equal(
          (await fetch(running.url + path, { headers: { authorization: 'Bearer wrong-key!' } })).status,
          401,
        );
      }
      const ok = await fetch(`${running.url}/v1/models`, { headers: { authorization: 'Bearer s3cret-key' } });
      assert.equal(ok.status, 200);
    } finally {
      await running.close();
    }
  });

  it('a multi-file upload is stored as one DICOM folder under names the server chose', async () => {
    const running = await startService({ dataDir: join(root, 'dicom'), modelDir: join(root, 'model') });
    try {
      const series = await writeSeries(join(root, 'named-series'), { columns: 16, rows: 16, slices: 3 });
      const names = ['../../a', 'IM0002', 'c.dcm'];
      const files = series.files.map((path, n) => fileUpload(path, names[n]));
      const response = await submit(running.url, { task: 'recognize' }, files);
      assert.equal(response.status, 202, await response.clone().text());
      const { id } = (await response.json()) as { id: string };
      const folder = join(root, 'dicom', 'jobs', id, 'input', 'dicom');
      assert.deepEqual(readdirSync(folder).sort(), ['00001.dcm', '00002.dcm', '00003.dcm']);
      await waitForState(running.url, id, ['failed', 'done']);
      const notDicom = names.map((name) => ({ name, bytes: new TextEncoder().encode(`not dicom ${name}`) }));
      const refused = await submit(running.url, { task: 'recognize' }, notDicom);
      assert.equal(refused.status, 400, 'the readers decide at upload: these bytes are no DICOM');
      const mixed = await submit(running.url, { task: 'recognize' }, [
        files[0],
        { name: 'x.nii.gz', bytes: new Uint8Array(10) },
      ]);
      assert.equal(mixed.status, 400);
      assert.deepEqual(readdirSync(join(root, 'dicom', 'jobs')), [id], 'refused uploads leave nothing');
    } finally {
      await running.close();
    }
  });
});
