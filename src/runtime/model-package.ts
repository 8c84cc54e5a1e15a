import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MedparseError } from '../core/errors.js';
import type { Modality } from '../core/volume.js';
import { SCAN_SCOPES, type ScanScope } from './scan-scope.js';

/**
 * Typed access to a model package (docs/model-contract.md). model.json is written by the Python
 * trainer in snake_case; this module validates it once and hands the engine camelCase types.
 */

export type ImagingModality = Exclude<Modality, 'unknown'>;

export type NormalizationSpec =
  | { type: 'ct_clip'; lower: number; upper: number; mean: number; std: number }
  | { type: 'percentile_zscore'; lowerPercentile: number; upperPercentile: number; nonzeroOnly: boolean };

export interface PresenceCalibration {
  probabilityBeta?: [number, number];
  intensityBeta?: [number, number];
  presenceThreshold?: number;
  /** Platt scaling of the presence logit: score = sigmoid(a * logit + b). */
  presencePlatt?: [number, number];
  minVolumeMl?: number;
  /** Largest plausible volume: a mask far bigger than any seen in calibration is not this concept. */
  maxVolumeMl?: number;
  /** One connected object on training scans: all but the largest island is dropped (calibrate decides). */
  singleComponent?: boolean;
  /**
   * A lesion whose islands under a tenth of the largest proved mostly false on training scans: they are
   * dropped, as they always are for anatomy (calibrate decides).
   */
  dropMinorIslands?: boolean;
}

export interface NetworkConcept {
  id: string;
  index: number;
  calibration: Partial<Record<ImagingModality, PresenceCalibration>>;
  /**
   * Why this row is not used for answers (held-out measurements show it does not work), in words a
   * user reads; absent for rows in use. The engine answers such a concept only when asked for experimental rows.
   */
  withheld?: string;
  /**
   * Withheld on one kind of scan only (measured to work on crops, not on whole scans): the reason per
   * scope, already naming the scope. `withheld` wins when both are set.
   */
  withheldOn?: Partial<Record<ScanScope, string>>;
}

export interface NetworkSpec {
  id: string;
  /** Absolute path of the .onnx file. */
  file: string;
  /** sha256 of the .onnx file (hex), checked when the network is loaded; absent in hand-made packages. */
  sha256?: string;
  modalities: ImagingModality[];
  orientation: string;
  spacing: [number, number, number];
  patchSize: [number, number, number];
  normalization: Partial<Record<ImagingModality, NormalizationSpec>>;
  featureChannels: number;
  concepts: NetworkConcept[];
  /**
   * Concept ids that together form one connected object (the heart's ventricles and wall): the engine
   * keeps only the largest 26-connected piece of their union (calibrate decides, `connected_groups`).
   */
  connectedGroups: string[][];
  /**
   * Which voxel axis becomes the working z: 'nearest' (the one nearest the world's S-I axis, as every
   * other axis) or 'thickest' (a stack of thick slices such as cine short axis, whose slice direction is
   * the one thing its affine reliably tells: ACDC's affines carry no true world orientation).
   */
  sliceAxis: SliceAxisRule;
  /**
   * Working axes (0 = x, 1 = y, 2 = z) the engine tries flipping, every combination, keeping the
   * orientation whose masks the network is most confident of: for a network that learnt one slice
   * order and handedness but will be given the others (a real scan's order depends on its acquisition).
   */
  flipSearch: WorkingAxis[];
}

export type SliceAxisRule = 'nearest' | 'thickest';
export type WorkingAxis = 0 | 1 | 2;
/** How model.json, listings and reports name the working axes 0, 1, 2. */
export const WORKING_AXIS_NAMES = ['x', 'y', 'z'] as const;

export interface ModelPackage {
  dir: string;
  name: string;
  version: string;
  license: string;
  trainingData: string;
  networks: NetworkSpec[];
}

const MODALITIES: readonly ImagingModality[] = ['CT', 'MR', 'PT'];

/** Reads and validates `<dir>/model.json`; every problem is reported with the field that has it. */
export function loadModelPackage(dir: string): ModelPackage {
  const manifestPath = join(dir, 'model.json');
  if (!existsSync(manifestPath)) {
    throw new MedparseError(
      'FILE_NOT_FOUND',
      'no model.json here: a model package is a folder with model.json and its .onnx networks (see docs/model-contract.md)',
      resolve(dir),
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new MedparseError(
      'CORRUPT_FILE',
      `model.json is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      manifestPath,
    );
  }
  const fail = (field: string, problem: string): never => {
    throw new MedparseError('CORRUPT_FILE', `invalid model package: ${field} ${problem}`, manifestPath);
  };
  const root = asRecord(raw, 'model.json', fail);
  if (root.schema_version !== 1)
    fail('schema_version', `is ${JSON.stringify(root.schema_version)}; this medparse reads version 1`);
  const networks = asArray(root.networks, 'networks', fail).map((n, i) => parseNetwork(n, `networks[${i}]`, dir, fail));
  if (networks.length === 0) fail('networks', 'is empty');
  return {
    dir: resolve(dir),
    name: asString(root.name, 'name', fail),
    version: asString(root.version, 'version', fail),
    license: asString(root.license ?? 'unspecified', 'license', fail),
    trainingData: asString(root.training_data ?? '', 'training_data', fail),
    networks,
  };
}

type Fail = (field: string, problem: string) => never;

function parseNetwork(value: unknown, at: string, dir: string, fail: Fail): NetworkSpec {
  const n = asRecord(value, at, fail);
  const input = asRecord(n.input, `${at}.input`, fail);
  const file = resolve(dir, asString(n.file, `${at}.file`, fail));
  if (!existsSync(file)) fail(`${at}.file`, `names ${file}, which does not exist`);
  const modalities = asArray(n.modalities, `${at}.modalities`, fail).map((m) =>
    asModality(m, `${at}.modalities`, fail),
  );
  const normalizationRecord = asRecord(input.normalization, `${at}.input.normalization`, fail);
  const normalization: Partial<Record<ImagingModality, NormalizationSpec>> = {};
  for (const modality of modalities) {
    const spec = normalizationRecord[modality];
    if (spec === undefined)
      fail(`${at}.input.normalization`, `has no entry for ${modality}, one of the network's modalities`);
    normalization[modality] = parseNormalization(spec, `${at}.input.normalization.${modality}`, fail);
  }
  const concepts = asArray(n.concepts, `${at}.concepts`, fail).map((c, i) =>
    parseConcept(c, `${at}.concepts[${i}]`, fail),
  );
  const indices = new Set(concepts.map((c) => c.index));
  if (indices.size !== concepts.length) fail(`${at}.concepts`, 'use the same index twice');
  const connectedGroups = asArray(n.connected_groups ?? [], `${at}.connected_groups`, fail).map((g, i) => {
    const field = `${at}.connected_groups[${i}]`;
    const ids = asArray(g, field, fail).map((id) => asString(id, field, fail));
    const unknown = ids.filter((id) => !concepts.some((c) => c.id === id));
    if (unknown.length) fail(field, `names ${unknown.join(', ')}, not concepts of this network`);
    if (ids.length < 2) fail(field, 'must list at least two concepts');
    return ids;
  });
  const sha256 = n.sha256 === undefined ? undefined : asString(n.sha256, `${at}.sha256`, fail).toLowerCase();
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) fail(`${at}.sha256`, 'is not 64 hexadecimal digits');
  return {
    id: asString(n.id, `${at}.id`, fail),
    file,
    ...(sha256 ? { sha256 } : {}),
    modalities,
    orientation: asString(input.orientation ?? 'RAS', `${at}.input.orientation`, fail),
    spacing: asTriple(input.spacing, `${at}.input.spacing`, fail, (v) => v > 0),
    patchSize: asTriple(input.patch_size, `${at}.input.patch_size`, fail, (v) => Number.isInteger(v) && v >= 8),
    normalization,
    featureChannels: asNumber(
      asRecord(n.output ?? {}, `${at}.output`, fail).feature_channels ?? 0,
      `${at}.output.feature_channels`,
      fail,
    ),
    concepts,
    connectedGroups,
    sliceAxis: parseSliceAxis(input.slice_axis ?? 'nearest', `${at}.input.slice_axis`, fail),
    flipSearch: parseFlipSearch(input.flip_search ?? [], `${at}.input.flip_search`, fail),
  };
}

function parseSliceAxis(value: unknown, at: string, fail: Fail): SliceAxisRule {
  if (value === 'nearest' || value === 'thickest') return value;
  return fail(at, `is ${JSON.stringify(value)}; expected "nearest" or "thickest"`);
}

function parseFlipSearch(value: unknown, at: string, fail: Fail): WorkingAxis[] {
  const axes = asArray(value, at, fail).map((name) => {
    const axis = WORKING_AXIS_NAMES.indexOf(name as (typeof WORKING_AXIS_NAMES)[number]);
    return axis >= 0 ? (axis as WorkingAxis) : fail(at, `names ${JSON.stringify(name)}; expected "x", "y" or "z"`);
  });
  if (new Set(axes).size !== axes.length) fail(at, 'names an axis twice');
  return axes;
}

function parseNormalization(value: unknown, at: string, fail: Fail): NormalizationSpec {
  const s = asRecord(value, at, fail);
  if (s.type === 'ct_clip') {
    return {
      type: 'ct_clip',
      lower: asNumber(s.lower ?? -1000, `${at}.lower`, fail),
      upper: asNumber(s.upper ?? 1000, `${at}.upper`, fail),
      mean: asNumber(s.mean ?? 0, `${at}.mean`, fail),
      std: asNumber(s.std ?? 300, `${at}.std`, fail),
    };
  }
  if (s.type === 'percentile_zscore') {
    return {
      type: 'percentile_zscore',
      lowerPercentile: asNumber(s.lower_percentile ?? 0.5, `${at}.lower_percentile`, fail),
      upperPercentile: asNumber(s.upper_percentile ?? 99.5, `${at}.upper_percentile`, fail),
      nonzeroOnly: s.nonzero_only === true,
    };
  }
  return fail(`${at}.type`, `is ${JSON.stringify(s.type)}; expected "ct_clip" or "percentile_zscore"`);
}

function parseConcept(value: unknown, at: string, fail: Fail): NetworkConcept {
  const c = asRecord(value, at, fail);
  const calibration: NetworkConcept['calibration'] = {};
  for (const [modality, entry] of Object.entries(asRecord(c.calibration ?? {}, `${at}.calibration`, fail))) {
    const e = asRecord(entry, `${at}.calibration.${modality}`, fail);
    const pair = (v: unknown, field: string) =>
      v === undefined ? undefined : (asArray(v, field, fail).map((x) => asNumber(x, field, fail)) as [number, number]);
    calibration[asModality(modality, `${at}.calibration`, fail)] = {
      probabilityBeta: pair(e.probability_beta, `${at}.calibration.${modality}.probability_beta`),
      intensityBeta: pair(e.intensity_beta, `${at}.calibration.${modality}.intensity_beta`),
      presencePlatt: pair(e.presence_platt, `${at}.calibration.${modality}.presence_platt`),
      presenceThreshold:
        e.presence_threshold === undefined
          ? undefined
          : asNumber(e.presence_threshold, `${at}.presence_threshold`, fail),
      minVolumeMl: e.min_volume_ml === undefined ? undefined : asNumber(e.min_volume_ml, `${at}.min_volume_ml`, fail),
      maxVolumeMl: e.max_volume_ml === undefined ? undefined : asNumber(e.max_volume_ml, `${at}.max_volume_ml`, fail),
      singleComponent:
        e.single_component === undefined
          ? undefined
          : asBoolean(e.single_component, `${at}.calibration.${modality}.single_component`, fail),
      dropMinorIslands:
        e.drop_minor_islands === undefined
          ? undefined
          : asBoolean(e.drop_minor_islands, `${at}.calibration.${modality}.drop_minor_islands`, fail),
    };
  }
  const index = asNumber(c.index, `${at}.index`, fail);
  if (!Number.isInteger(index) || index < 0) fail(`${at}.index`, 'must be a whole number >= 0');
  const withheld = c.withheld === undefined ? undefined : asReason(c.withheld, `${at}.withheld`, fail);
  const withheldOn: Partial<Record<ScanScope, string>> = {};
  for (const [scope, reason] of Object.entries(asRecord(c.withheld_on ?? {}, `${at}.withheld_on`, fail))) {
    if (!SCAN_SCOPES.includes(scope as ScanScope))
      fail(`${at}.withheld_on`, `names the scope ${JSON.stringify(scope)}; expected ${SCAN_SCOPES.join(' or ')}`);
    withheldOn[scope as ScanScope] = asReason(reason, `${at}.withheld_on.${scope}`, fail);
  }
  return {
    id: asString(c.id, `${at}.id`, fail),
    index,
    calibration,
    ...(withheld ? { withheld } : {}),
    ...(Object.keys(withheldOn).length ? { withheldOn } : {}),
  };
}

function asReason(value: unknown, at: string, fail: Fail): string {
  const reason = asString(value, at, fail).trim();
  if (reason === '') fail(at, 'must say why the concept is withheld (a non-empty string)');
  return reason;
}

function asRecord(value: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(at, 'must be an object');
  return value as Record<string, unknown>;
}

function asArray(value: unknown, at: string, fail: Fail): unknown[] {
  if (!Array.isArray(value)) fail(at, 'must be an array');
  return value as unknown[];
}

function asString(value: unknown, at: string, fail: Fail): string {
  if (typeof value !== 'string') fail(at, 'must be a string');
  return value as string;
}

function asNumber(value: unknown, at: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(at, 'must be a finite number');
  return value as number;
}

function asBoolean(value: unknown, at: string, fail: Fail): boolean {
  if (typeof value !== 'boolean') fail(at, 'must be true or false');
  return value as boolean;
}

function asTriple(value: unknown, at: string, fail: Fail, valid: (v: number) => boolean): [number, number, number] {
  const list = asArray(value, at, fail).map((v) => asNumber(v, at, fail));
  if (list.length !== 3 || !list.every(valid)) fail(at, `must be three valid numbers, got ${JSON.stringify(value)}`);
  return list as [number, number, number];
}

function asModality(value: unknown, at: string, fail: Fail): ImagingModality {
  if (!MODALITIES.includes(value as ImagingModality))
    fail(at, `holds ${JSON.stringify(value)}; expected one of ${MODALITIES.join(', ')}`);
  return value as ImagingModality;
}

/** A network row that answers a concept. */
export interface ConceptRow {
  network: NetworkSpec;
  entry: NetworkConcept;
}

/** Why a row is not used on scans of this scope (withheld everywhere, or on this kind of scan), if it is not. */
/**
 * Refuses a network file that does not match the sha256 model.json gives for it (a swapped or
 * damaged .onnx would otherwise run and answer wrongly). Streams the file: networks can be large.
 */
export async function checkNetworkFile(network: NetworkSpec): Promise<void> {
  if (!network.sha256) return;
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(network.file)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new MedparseError(
      'FILE_NOT_FOUND',
      `cannot read the network file (${(error as Error).message})`,
      network.file,
    );
  }
  const found = hash.digest('hex');
  if (found !== network.sha256)
    throw new MedparseError(
      'CORRUPT_FILE',
      `network ${network.id}: the file's sha256 is ${found}, but model.json says ${network.sha256}; the file was swapped or damaged: reinstall the model package`,
      network.file,
    );
}

export function rowWithheldReason(entry: NetworkConcept, scope: ScanScope): string | undefined {
  return entry.withheld ?? entry.withheldOn?.[scope];
}

/**
 * The row that answers a concept in images of a modality and scope: the first network for the modality
 * that holds it, passing over withheld rows unless `includeWithheld` (what --experimental asks for).
 */
export function answeringRow(
  model: ModelPackage,
  conceptId: string,
  modality: ImagingModality,
  scope: ScanScope,
  includeWithheld: boolean,
): ConceptRow | undefined {
  for (const network of model.networks) {
    if (!network.modalities.includes(modality)) continue;
    const entry = network.concepts.find((c) => c.id === conceptId);
    if (entry && (includeWithheld || rowWithheldReason(entry, scope) === undefined)) return { network, entry };
  }
  return undefined;
}

/** Why the model withholds a concept in images of a modality and scope (its row in a network for it), if it does. */
export function withheldReason(
  model: ModelPackage,
  conceptId: string,
  modality: ImagingModality,
  scope: ScanScope,
): string | undefined {
  return model.networks
    .filter((network) => network.modalities.includes(modality))
    .flatMap((network) => network.concepts)
    .filter((entry) => entry.id === conceptId)
    .map((entry) => rowWithheldReason(entry, scope))
    .find((reason) => reason !== undefined);
}

/** Model packages installed in a folder (each subfolder with a model.json), for `medparse models`. */
export function findModelPackages(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((path) => statSync(path).isDirectory() && existsSync(join(path, 'model.json')));
}
