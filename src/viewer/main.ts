/**
 * The medparse web viewer (issue 21, server mode): NiiVue shows the scan in three planes and 3D, the
 * prompt box shows what medparse understands as the user types, a run goes to `medparse serve` as a
 * job, and its label map comes back as an overlay coloured and named from labels.json.
 * document.body.dataset.state (idle, loaded, running, done, error) lets scripts and tests wait on it.
 */
import { Niivue, NVImage, SHOW_RENDER, type NiiVueLocation } from '@niivue/niivue';
import type { LabelTable } from '../io/label-legend.js';
import type { PromptReport, Report } from '../tasks/report-types.js';
import {
  ApiClient,
  ApiError,
  type JobView,
  type Submitted,
  type Progress,
  type ResolvedPrompt,
  type Task,
} from './api.js';
import {
  browserRefusal,
  isDicomScan,
  type OpenRequest,
  type RunRequest,
  type ScanFile,
  type SeriesChoice,
  type WorkerMessage,
  type Backend,
} from '../browser/messages.js';
import { StructureLayers } from './structure-layers.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  file: $<HTMLInputElement>('file'),
  folder: $<HTMLInputElement>('folder'),
  keyBox: $<HTMLElement>('key-box'),
  key: $<HTMLInputElement>('api-key'),
  drop: $<HTMLElement>('open'),
  scan: $<HTMLElement>('scan'),
  series: $<HTMLSelectElement>('series'),
  seriesLabel: $<HTMLElement>('series-label'),
  task: $<HTMLSelectElement>('task'),
  prompts: $<HTMLTextAreaElement>('prompts'),
  understood: $<HTMLUListElement>('understood'),
  inBrowser: $<HTMLInputElement>('in-browser'),
  useGpu: $<HTMLInputElement>('use-gpu'),
  browserNote: $<HTMLElement>('browser-note'),
  run: $<HTMLButtonElement>('run'),
  cancel: $<HTMLButtonElement>('cancel'),
  progress: $<HTMLElement>('progress'),
  bar: $<HTMLProgressElement>('bar'),
  stage: $<HTMLElement>('stage'),
  results: $<HTMLElement>('results'),
  opacity: $<HTMLInputElement>('opacity'),
  answers: $<HTMLUListElement>('answers'),
  downloads: $<HTMLUListElement>('downloads'),
  picked: $<HTMLElement>('picked'),
  error: $<HTMLElement>('error'),
};

const params = new URLSearchParams(location.search);
// served by `medparse serve`: the same origin; as static files: ?api=http://host:port
const api = new ApiClient(
  params.get('api') ?? location.origin,
  () => sessionStorage.getItem('medparse-api-key') ?? undefined,
);
const nv = new Niivue({
  backColor: [0, 0, 0, 1],
  show3Dcrosshair: true,
  multiplanarShowRender: SHOW_RENDER.ALWAYS,
  isColorbar: false,
  // as radiologists read (and as preview.png is drawn): the patient's right on the screen's left
  isRadiologicalConvention: true,
});

// for scripts and tests driving the page (NiiVue's own API: volumes, opacity, crosshair; the last
// in-browser run's answers and label map, to compare with the Node engine's)
const scripting: { nv: Niivue; browserRun?: Done } = { nv };
(window as unknown as { medparseViewer: typeof scripting }).medparseViewer = scripting;

let scanFiles: File[] = [];
/** The series of scanFiles chosen in the page when they hold several, for the run. */
let scanSeries: string | undefined;
/** Files holding several series, waiting for the user's choice. */
let choosingFrom: File[] = [];
/** The answers' overlay: one layer per structure, each with its own opacity. */
const layers = new StructureLayers(nv);
let shown: Report | undefined;
/** The job of the run in progress, for Cancel. */
let running: Submitted | undefined;

type ViewerState = 'idle' | 'loaded' | 'running' | 'done' | 'error';
const currentState = () => (document.body.dataset.state ?? 'idle') as ViewerState;
function setState(state: ViewerState): void {
  document.body.dataset.state = state;
  const refusal = ui.inBrowser.checked && scanFiles.length ? browserRefusal(scanFiles) : undefined;
  // said before anything runs: what the in-browser mode cannot read, and what to do instead
  ui.browserNote.hidden = refusal === undefined;
  ui.browserNote.textContent = refusal ?? '';
  ui.run.disabled = state === 'running' || scanFiles.length === 0 || refusal !== undefined;
}

/** An API call that failed: a server that wants a key gets the key box shown (the key stays for the tab). */
function failed(error: unknown, prefix = ''): void {
  if (error instanceof ApiError && error.status === 401) {
    ui.keyBox.hidden = false;
    ui.key.focus();
    showError(`this server needs its API key (medparse serve --api-key): enter it under "API key"`);
    return;
  }
  showError(prefix + messageOf(error));
}

function showError(message: string | undefined): void {
  ui.error.hidden = !message;
  ui.error.textContent = message ?? '';
}

/** What NiiVue reads in the page; anything else (DICOM) is converted by the server first. */
const READ_IN_PAGE = /\.(nii|nii\.gz|mgz|mgh|nrrd|nhdr|mha|mhd)$/i;

/** A scan's name for the panel: the file, or the folder of a DICOM series. */
function scanName(files: readonly File[]): string {
  if (files.length === 1) return files[0].name;
  const folder = files[0].webkitRelativePath.split('/')[0];
  return `${folder || 'DICOM series'} (${files.length} files)`;
}

/**
 * Opens a scan: one NIfTI, MGZ, NRRD or MetaImage file in the page; a DICOM .zip, files or folder read
 * in a worker by medparse's own DICOM reader when "Run in this browser" is checked (nothing uploaded),
 * else through POST /v1/convert (the server's readers). Both give the geometry the parse will use.
 */
async function openScan(files: readonly File[], series?: string): Promise<void> {
  if (!files.length) return;
  const name = scanName(files);
  showError(undefined);
  if (series === undefined) showSeriesChoice([], []);
  ui.scan.textContent = `reading ${name}...`;
  try {
    const image = await loadImage(files, name, series);
    layers.clear();
    for (const volume of [...nv.volumes]) nv.removeVolume(volume);
    nv.addVolume(image);
    showSoftTissue(image);
    nv.setSliceType(nv.sliceTypeMultiplanar);
    scanFiles = [...files];
    scanSeries = series;
    const dims = image.dims ? image.dims.slice(1, 4).join(' x ') : '?';
    ui.scan.textContent = `${name}: ${dims} voxels`;
    ui.results.hidden = true;
    setState('loaded');
  } catch (error) {
    // the page keeps working: the previous scan, if any, stays open
    ui.scan.textContent = scanFiles.length ? `${scanName(scanFiles)} is still open` : '';
    if (error instanceof SeriesChoiceNeeded) {
      showSeriesChoice(files, error.choices);
      showError(`${name} ${error.message}: choose one under "Series"`);
    } else if (error instanceof ApiError && error.status === 401) failed(error);
    else
      showError(
        `${name} could not be read as an image (${messageOf(error)}); open a NIfTI, MGZ, NRRD or MetaImage file, or a DICOM series (.zip, files or folder)`,
      );
    setState(scanFiles.length ? 'loaded' : 'error');
  }
}

/** The scan's files with their bytes, for the engine worker: a chosen folder's files keep their path below it. */
async function scanFileBytes(files: readonly File[]): Promise<ScanFile[]> {
  return Promise.all(
    files.map(async (file) => ({ name: file.webkitRelativePath || file.name, bytes: await file.arrayBuffer() })),
  );
}

/** The files hold several series and none was chosen (a scan is one series). */
class SeriesChoiceNeeded extends Error {
  constructor(
    message: string,
    readonly choices: SeriesChoice[],
  ) {
    super(message);
  }
}

/** Lists the series of `files` to choose from (none: hides the list). */
function showSeriesChoice(files: readonly File[], choices: readonly SeriesChoice[]): void {
  choosingFrom = [...files];
  ui.series.hidden = ui.seriesLabel.hidden = choices.length === 0;
  const prompt = element('option', { value: '' }, `${choices.length} series: choose one`);
  ui.series.replaceChildren(prompt, ...choices.map((choice) => element('option', { value: choice.uid }, choice.label)));
}

/**
 * A DICOM series read in a worker of its own (the engine worker's script, ended when done so that its
 * memory goes back): NIfTI bytes for NiiVue, the series never leaving the browser.
 */
async function dicomInWorker(files: readonly File[], scanName: string, series?: string): Promise<ArrayBuffer> {
  const request: OpenRequest = { type: 'open', files: await scanFileBytes(files), scanName, series };
  const worker = new Worker(new URL('engine-worker.js', document.baseURI), { type: 'module' });
  try {
    return await new Promise<ArrayBuffer>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
        const message = event.data;
        if (message.type === 'opened') resolve(message.nifti);
        else if (message.type === 'choose-series') reject(new SeriesChoiceNeeded(message.message, message.choices));
        else if (message.type === 'error') reject(new Error(message.message));
      };
      worker.onerror = (event) => reject(new Error(event.message || 'the DICOM reader failed to start'));
      worker.postMessage(
        request,
        request.files.map((file) => file.bytes),
      );
    });
  } finally {
    worker.terminate();
  }
}

/**
 * The scan as NiiVue reads it: a single image file in the page; DICOM read in a worker (browser mode) or
 * converted by the server, `series` choosing one of several series.
 */
async function loadImage(files: readonly File[], name: string, series: string | undefined): Promise<NVImage> {
  if (files.length === 1 && READ_IN_PAGE.test(files[0].name))
    return NVImage.loadFromFile({ file: files[0], name: files[0].name });
  if (ui.inBrowser.checked && isDicomScan(files))
    return NVImage.loadFromUrl({
      url: 'image.nii',
      name: 'image.nii',
      buffer: await dicomInWorker(files, name, series),
    });
  try {
    return await NVImage.loadFromUrl({
      url: 'image.nii.gz',
      name: 'image.nii.gz',
      buffer: await api.convert(files, series),
    });
  } catch (error) {
    // several series: listed from the files' headers in a worker (nothing more is uploaded), to choose one
    if (error instanceof ApiError && error.code === 'MULTIPLE_SERIES') await dicomInWorker(files, name);
    throw error;
  }
}

/** The files of a dropped folder (DICOM series come as folders), recursively. */
async function droppedFiles(transfer: DataTransfer): Promise<File[]> {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry()).filter((e) => e !== null);
  if (!entries.some((entry) => entry.isDirectory)) return [...transfer.files];
  const files: File[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) files.push(await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail)));
    else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  return files;
}

/** A CT (values well below water) opens in a soft-tissue window, not its full range. */
function showSoftTissue(image: NVImage): void {
  // NiiVue's global_min/max leave out outliers; the stored values (scaled) say whether this is HU
  const values = image.img;
  if (!values) return;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  const [slope, intercept] = [image.hdr?.scl_slope || 1, image.hdr?.scl_inter || 0];
  if (min * slope + intercept > -500 || max * slope + intercept < 200) return;
  image.cal_min = -160;
  image.cal_max = 240;
  nv.updateGLVolume();
}

/** What medparse understands of the prompt box, refreshed as the user types. */
let resolving: AbortController | undefined;
async function showUnderstood(): Promise<void> {
  resolving?.abort();
  const text = ui.prompts.value.trim();
  ui.understood.replaceChildren();
  if (!text || ui.task.value === 'recognize') return;
  resolving = new AbortController();
  try {
    const prompts = await api.resolve(text, resolving.signal);
    ui.understood.replaceChildren(...prompts.map(understoodItem));
  } catch (error) {
    if ((error as Error).name !== 'AbortError') failed(error, 'the vocabulary could not be asked: ');
  }
}

function understoodItem(prompt: ResolvedPrompt): HTMLLIElement {
  const item = element('li', { class: 'understood' });
  item.dataset.status = prompt.status;
  item.append(element('span', {}, prompt.text), element('span', { class: `badge ${prompt.status}` }, prompt.status));
  if (prompt.concepts.length)
    item.append(element('span', { class: 'reason' }, `= ${prompt.concepts.map((c) => c.name).join(' or ')}`));
  for (const suggestion of prompt.suggestions) {
    const link = element('a', { href: '#', class: 'suggestion' }, suggestion);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      ui.prompts.value = ui.prompts.value.replace(prompt.text, suggestion);
      void showUnderstood();
    });
    item.append(element('span', { class: 'reason' }, 'did you mean '), link, document.createTextNode('?'));
  }
  for (const note of prompt.notes) item.append(element('span', { class: 'reason' }, note));
  return item;
}

async function run(): Promise<void> {
  if (!scanFiles.length) return;
  showError(undefined);
  setState('running');
  ui.progress.hidden = false;
  ui.results.hidden = true;
  const started = performance.now();
  let stageStarted = started;
  let stage: string | null = null;
  // the engine worker's thread count, shown for a browser run only
  delete ui.stage.dataset.threads;
  delete ui.stage.dataset.backend;
  if (ui.inBrowser.checked) return runInBrowser(started);
  try {
    const submitted = await api.submit(scanFiles, ui.task.value as Task, ui.prompts.value, scanSeries);
    running = submitted;
    ui.cancel.hidden = false;
    const job = await api.follow(submitted, (progress: Progress) => {
      if (progress.stage !== stage) [stage, stageStarted] = [progress.stage, performance.now()];
      ui.bar.value = progress.fraction;
      ui.stage.textContent = describeProgress(progress, started, stageStarted);
    });
    if (job.state === 'cancelled') {
      ui.stage.textContent = `cancelled after ${seconds(performance.now() - started)}`;
      setState('loaded');
      return;
    }
    if (job.state !== 'done') throw new Error(job.error?.message ?? `the job ended ${job.state}`);
    ui.stage.textContent = `done in ${seconds(performance.now() - started)}`;
    ui.bar.value = 1;
    await showResults(job);
    setState('done');
  } catch (error) {
    failed(error);
    setState('loaded');
  } finally {
    running = undefined;
    ui.cancel.hidden = true;
  }
}

let engineWorker: { worker: Worker; gpu: boolean } | undefined;

/**
 * The in-browser mode (issue 21): the opened scan (one image file, or a DICOM series' files or .zip) goes
 * to the engine worker, which fetches the model
 * and vocabulary from the server and runs everything here; the scan is not uploaded.
 */
async function runInBrowser(started: number): Promise<void> {
  try {
    const refusal = browserRefusal(scanFiles);
    if (refusal) throw new Error(refusal);
    const key = sessionStorage.getItem('medparse-api-key');
    const request: RunRequest = {
      type: 'run',
      base: api.url('/'),
      headers: key ? { authorization: `Bearer ${key}` } : {},
      files: await scanFileBytes(scanFiles),
      scanName: scanName(scanFiles),
      series: scanSeries,
      task: ui.task.value as Task,
      prompts: ui.prompts.value,
      gpu: ui.useGpu.checked,
    };
    const done = await inWorker(request, (progress, threads, backend) => {
      ui.bar.value = progress.fraction;
      ui.stage.dataset.threads = String(threads);
      ui.stage.textContent = `${progress.stage} ${Math.round(progress.fraction * 100)}% in this browser${runsOn(threads, backend)} (${seconds(performance.now() - started)} so far)`;
    });
    ui.stage.dataset.threads = String(done.threads);
    ui.stage.dataset.backend = done.backend.kind;
    ui.stage.textContent = `done in this browser in ${seconds(performance.now() - started)}${runsOn(done.threads, done.backend)}`;
    ui.bar.value = 1;
    for (const url of blobUrls.splice(0)) URL.revokeObjectURL(url);
    await showBrowserResults(done);
    setState('done');
  } catch (error) {
    failed(error);
    setState('loaded');
  }
}

/**
 * Where the networks run, for the status line: on WebGPU (which adapter), or on WebAssembly with why not
 * the GPU when it was asked for, and its threads; nothing about the backend before the engine has chosen.
 */
function runsOn(threads: number, backend: Backend | undefined): string {
  if (backend?.kind === 'webgpu') return `, on WebGPU (${backend.adapter})`;
  const why = backend && ui.useGpu.checked ? `, on WebAssembly (${backend.why})` : '';
  return `${why}, ${threadCount(threads)}`;
}

/** How many WebAssembly threads the engine runs, and why only one where the page is not isolated. */
function threadCount(threads: number): string {
  if (threads > 1) return `${threads} threads`;
  return self.crossOriginIsolated ? '1 thread' : '1 thread (the page is not cross-origin isolated)';
}

type Done = WorkerMessage & { type: 'done' };

function inWorker(
  request: RunRequest,
  onProgress: (progress: { stage: string; fraction: number }, threads: number, backend?: Backend) => void,
): Promise<Done> {
  // a worker runs one build of onnxruntime-web (WebGPU's or WebAssembly's): a new one when the setting changed
  if (engineWorker?.gpu !== request.gpu) {
    engineWorker?.worker.terminate();
    const worker = new Worker(new URL('engine-worker.js', document.baseURI), { type: 'module' });
    engineWorker = { worker, gpu: request.gpu };
  }
  const { worker } = engineWorker;
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      const message = event.data;
      if (message.type === 'progress') onProgress(message.progress, message.threads, message.backend);
      else if (message.type === 'done') resolve(message);
      else if (message.type === 'error') reject(new Error(message.message));
    };
    worker.onerror = (event) => reject(new Error(event.message || 'the engine worker failed to start'));
    worker.postMessage(
      request,
      request.files.map((file) => file.bytes),
    );
  });
}

/** The browser run's answers, shown as a server job's are, its files offered from Blob URLs. */
async function showBrowserResults(done: Done): Promise<void> {
  scripting.browserRun = done;
  const labels = done.files.find((file) => file.name === 'labels.nii.gz');
  const downloads = done.files.map(({ name, bytes }) => ({ name, url: blobUrl(new Blob([bytes])) }));
  // NiiVue gets a copy: the download keeps the file's own bytes
  await showAnswers(done.report, done.table, done.table.labels.length ? labels?.bytes.slice(0) : undefined, downloads);
  // what the tests compare with the Node engine: each answer's mask voxels and probability sum
  ui.answers.querySelectorAll<HTMLLIElement>(':scope > li').forEach((item, i) => {
    const answer = done.answers[i];
    if (!answer) return;
    item.dataset.voxels = String(answer.voxels);
    item.dataset.probabilitySum = String(answer.probabilitySum);
  });
}

function describeProgress(progress: Progress, started: number, stageStarted: number): string {
  const now = performance.now();
  const fraction = progress.fraction;
  // time left in the stage from its pace so far: no guess until a tenth of it is done
  const left =
    fraction > 0.1 && fraction < 1 ? ` about ${seconds(((now - stageStarted) * (1 - fraction)) / fraction)} left` : '';
  const what = progress.stage ?? progress.state;
  return `${what} ${Math.round(fraction * 100)}%${left} (${seconds(now - started)} so far)${progress.message ? `: ${progress.message}` : ''}`;
}

async function showResults(job: JobView): Promise<void> {
  const [report, table] = await Promise.all([api.report(job), api.labels(job)]);
  const labels = table.labels.length ? await api.bytes(`${job.url}/files/labels.nii.gz`) : undefined;
  const downloads = job.links.files.map((path) => ({
    name: path.split('/').pop() ?? path,
    url: api.url(path),
    // a plain link cannot send the API key: the file is fetched with it and saved from a Blob URL
    fetch: () => api.bytes(path),
  }));
  await showAnswers(report, table, labels, downloads);
}

/** A result file offered for download: a Blob URL, or a server URL fetched with the API key on click. */
interface Download {
  name: string;
  url: string;
  fetch?: () => Promise<ArrayBuffer>;
}

/** A run's answers (report.json and labels.json, from the server or the engine worker): overlay, list, downloads. */
async function showAnswers(
  report: Report,
  table: LabelTable,
  labels: ArrayBuffer | undefined,
  downloads: readonly Download[],
): Promise<void> {
  layers.clear();
  if (labels && table.niivue) {
    layers.show(
      await NVImage.loadFromUrl({ url: 'labels.nii.gz', buffer: labels }),
      table.niivue,
      Number(ui.opacity.value),
    );
  }
  shown = report;
  ui.answers.replaceChildren(...report.prompts.map((prompt) => answerItem(prompt, table)));
  ui.downloads.replaceChildren(...downloads.map(downloadItem));
  ui.results.hidden = false;
  // open on the first structure found, not on whatever slice the crosshair was at
  const first = report.prompts.find((p) => p.statistics);
  if (first) jumpTo(centreOf(first));
}

function downloadItem(download: Download): HTMLLIElement {
  const link = element('a', { href: download.url, download: download.name }, download.name);
  const { fetch } = download;
  if (fetch)
    link.addEventListener('click', (event) => {
      event.preventDefault();
      void fetch()
        .then((bytes) => save(new Blob([bytes]), download.name))
        .catch((error: unknown) => failed(error, `${download.name} could not be downloaded: `));
    });
  const item = element('li');
  item.append(link);
  return item;
}

/** Saves a Blob as a file named `name` (a click on a temporary link to its Blob URL). */
function save(blob: Blob, name: string): void {
  const link = element('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  // the browser has started the download by now; the URL is freed a little later to be safe
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/** Blob URLs of the files shown (a browser run's downloads), freed when the next results replace them. */
const blobUrls: string[] = [];
function blobUrl(blob: Blob): string {
  const url = URL.createObjectURL(blob);
  blobUrls.push(url);
  return url;
}

function answerItem(prompt: PromptReport, table: LabelTable): HTMLLIElement {
  const item = element('li', { class: 'answer' });
  item.dataset.status = prompt.status;
  item.dataset.text = prompt.text;
  const label = table.labels.find((l) => l.value === prompt.label_value);
  if (label) item.append(...structureControls(label.value, label.color, prompt.text));
  const name = element('a', { href: '#', class: 'name' }, prompt.text);
  name.addEventListener('click', (event) => {
    event.preventDefault();
    if (prompt.statistics) jumpTo(centreOf(prompt));
  });
  item.append(name, element('span', { class: `badge ${prompt.status}` }, prompt.status));
  const s = prompt.statistics;
  if (s) {
    const hu = s.intensity ? `, ${s.intensity.mean} ± ${s.intensity.std} ${s.intensity.unit}` : '';
    item.append(element('span', { class: 'reason' }, `${s.volume_ml} mL${hu}`));
  }
  if (prompt.instances.length > 1) item.append(instanceList(prompt));
  for (const reason of [...(prompt.evidence?.reasons ?? []), ...prompt.notes])
    item.append(element('span', { class: 'reason' }, reason));
  return item;
}

/** An answer's separate objects (both kidneys, each lesion), each a link to its centre, largest first. */
function instanceList(prompt: PromptReport): HTMLOListElement {
  const list = element('ol', { class: 'instances' });
  for (const instance of [...prompt.instances].sort((a, b) => b.voxels - a.voxels)) {
    const link = element('a', { href: '#' }, `object ${instance.id}: ${instance.volume_ml} mL`);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      jumpTo(instance.centroid_world_mm);
    });
    const entry = element('li');
    entry.append(link);
    list.append(entry);
  }
  return list;
}

/**
 * A drawn structure's controls in the list: show/hide, its colour, and its own opacity (which the
 * overlay opacity slider above the list sets for all).
 */
function structureControls(value: number, color: readonly number[], name: string): HTMLElement[] {
  const toggle = element('input', { type: 'checkbox', title: 'show or hide' });
  toggle.checked = true;
  toggle.addEventListener('change', () => layers.setVisible(value, toggle.checked));
  const swatch = element('span', { class: 'swatch' });
  swatch.style.background = `rgb(${color.join(',')})`;
  const opacity = element('input', {
    type: 'range',
    class: 'structure-opacity',
    min: '0',
    max: '1',
    step: '0.05',
    value: ui.opacity.value,
    title: `opacity of ${name}`,
  });
  opacity.addEventListener('input', () => layers.setOpacity(value, Number(opacity.value)));
  return [toggle, swatch, opacity];
}

/**
 * Where to look at an answer: its largest object's centre (the centroid of "kidneys" lies between
 * them, in the spine), else the centroid of the whole mask.
 */
function centreOf(prompt: PromptReport): number[] {
  const largest = [...prompt.instances].sort((a, b) => b.voxels - a.voxels)[0];
  return largest?.centroid_world_mm ?? prompt.statistics?.centroid_world_mm ?? [0, 0, 0];
}

/**
 * What lies under the crosshair (a click in any plane moves it): the answer whose label is there, with
 * its volume, intensity and box, highlighted in the list; else the scan's value.
 */
function showPicked(location: NiiVueLocation): void {
  const scanValue = location.values[0]?.value;
  const labelValue = layers.labelAt(location);
  const answer = labelValue > 0 ? shown?.prompts.find((p) => p.label_value === labelValue) : undefined;
  for (const item of ui.answers.querySelectorAll<HTMLLIElement>(':scope > li'))
    item.classList.toggle('picked', answer !== undefined && item.dataset.text === answer.text);
  const at = `${[0, 1, 2].map((axis) => Math.round(location.mm[axis])).join(', ')} mm`;
  const s = answer?.statistics;
  if (!answer || !s) {
    ui.picked.textContent = scanValue === undefined ? '' : `${at}: ${Math.round(scanValue)}`;
    return;
  }
  const hu = s.intensity ? `, ${s.intensity.mean} ± ${s.intensity.std} ${s.intensity.unit}` : '';
  const [i0, j0, k0, i1, j1, k1] = s.bbox_voxels;
  ui.picked.textContent = `${answer.text}: ${s.volume_ml} mL${hu}, box ${i0}-${i1}, ${j0}-${j1}, ${k0}-${k1} (voxels) at ${at}`;
}

/** Moves the crosshair to a structure's centroid (report.json's RAS mm; NiiVue's world is RAS mm too). */
function jumpTo(centroid: number[]): void {
  nv.scene.crosshairPos = nv.mm2frac(centroid);
  nv.drawScene();
  nv.createOnLocationChange();
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.round(ms / 1000))} s`;
}

function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

async function start(): Promise<void> {
  await nv.attachToCanvas($<HTMLCanvasElement>('gl'));
  nv.onLocationChange = (location) => showPicked(location as NiiVueLocation);
  nv.setSliceType(nv.sliceTypeMultiplanar);
  for (const input of [ui.file, ui.folder])
    input.addEventListener('change', () => void openScan([...(input.files ?? [])]));
  ui.drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (event) => {
    event.preventDefault();
    ui.drop.classList.remove('over');
    if (event.dataTransfer) void droppedFiles(event.dataTransfer).then(openScan);
  });
  ui.prompts.addEventListener(
    'input',
    debounce(() => void showUnderstood(), 250),
  );
  ui.task.addEventListener('change', () => {
    ui.prompts.disabled = ui.task.value === 'recognize';
    void showUnderstood();
  });
  ui.run.addEventListener('click', () => void run());
  ui.series.addEventListener('change', () => {
    if (ui.series.value) void openScan(choosingFrom, ui.series.value);
  });
  ui.inBrowser.addEventListener('change', () => setState(currentState()));
  ui.cancel.addEventListener('click', () => {
    // the event stream then ends with "cancelled", and run() says so
    if (running) void api.cancel(running).catch((error: unknown) => failed(error));
  });
  ui.key.addEventListener('change', () => {
    sessionStorage.setItem('medparse-api-key', ui.key.value.trim());
    showError(undefined);
    void showUnderstood();
  });
  ui.opacity.addEventListener('input', () => {
    layers.setAllOpacity(Number(ui.opacity.value));
    for (const slider of ui.answers.querySelectorAll<HTMLInputElement>('.structure-opacity'))
      slider.value = ui.opacity.value;
  });
  setState('idle');
}

void start().catch((error: unknown) => {
  showError(`the viewer could not start: ${messageOf(error)} (it needs WebGL2)`);
  setState('error');
});
