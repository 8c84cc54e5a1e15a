import { MedparseError } from '../core/errors.js';
import type { Modality } from '../core/volume.js';
import type {
  ManifestCalibration,
  ManifestConcept,
  ManifestNetwork,
  ManifestNormalization,
  ModelManifest,
} from './model-manifest.js';
import type { ScanScope, ScanTraits } from './scan-scope.js';

/**
 * Typed access to a model package (docs/model-contract.md). model.json is written by the Python
 * trainer in snake_case (its stored form is typed in model-manifest.ts); this module reads it once and
 * hands the engine camelCase types.
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
  /** Absolute path (or, in a browser, URL) of the .onnx file. */
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
   * Landmark rows that must all be found for any of the network's answers to stand (calibrate decides,
   * `anchors`): a region network shown another region (a brain network shown a cine stack) draws
   * plausible-looking structures there, but not its landmarks, so an absent landmark answers every row absent.
   */
  anchors: string[];
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
  /**
   * How much surer (mean probability inside the masks) another orientation must be than the acquired one
   * to be kept instead: a network trained on both ACDC and MS-CMRSeg is about as sure of every orientation
   * (to 0.004 on its training stacks), and a choice among near-ties is noise that costs Dice.
   */
  flipSearchMargin: number;
  /**
   * The thickest slices (largest voxel side, mm) the network was measured to read (eval --thick-slices);
   * every row is withheld on thicker scans. Absent: no limit.
   */
  maxSliceMm?: number;
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

/** Where a package's files are: its folder (or URL) and how a network's relative file name is resolved there. */
export interface PackageLocation {
  dir: string;
  /** What problems name as the manifest (its path or URL). */
  manifest: string;
  /** The absolute path or URL of a network file named relative to the package. */
  locate(file: string): string;
  /** False for a network file that is not there; absent where existence is known only on reading. */
  exists?(file: string): boolean;
}

/**
 * A parsed model.json turned into the engine's types: the contract's defaults applied and what a schema
 * cannot check checked (files that exist, one normalisation per modality, distinct rows, groups of the
 * network's concepts). Every problem names the field. Node-free: the Node and browser loaders share it.
 */
export function modelFromManifest(manifest: ModelManifest, location: PackageLocation): ModelPackage {
  const fail = (field: string, problem: string): never => {
    throw new MedparseError('CORRUPT_FILE', `invalid model package: ${field} ${problem}`, location.manifest);
  };
  return {
    dir: location.dir,
    name: manifest.name,
    version: manifest.version,
    license: manifest.license ?? 'unspecified',
    trainingData: manifest.training_data ?? '',
    networks: manifest.networks.map((n, i) => toNetwork(n, `networks[${i}]`, location, fail)),
  };
}
type Fail = (field: string, problem: string) => never;

function toNetwork(n: ManifestNetwork, at: string, location: PackageLocation, fail: Fail): NetworkSpec {
  const file = location.locate(n.file);
  if (location.exists?.(file) === false) fail(`${at}.file`, `names ${file}, which does not exist`);
  const normalization: Partial<Record<ImagingModality, NormalizationSpec>> = {};
  for (const modality of n.modalities) {
    const spec = n.input.normalization[modality];
    if (spec === undefined)
      fail(`${at}.input.normalization`, `has no entry for ${modality}, one of the network's modalities`);
    else normalization[modality] = toNormalization(spec);
  }
  const concepts = n.concepts.map(toConcept);
  if (new Set(concepts.map((c) => c.index)).size !== concepts.length)
    fail(`${at}.concepts`, 'use the same index twice');
  const connectedGroups = (n.connected_groups ?? []).map((ids, i) => {
    const unknown = ids.filter((id) => !concepts.some((c) => c.id === id));
    if (unknown.length)
      fail(`${at}.connected_groups[${i}]`, `names ${unknown.join(', ')}, not concepts of this network`);
    return ids;
  });
  const maxSliceMm = n.input.max_slice_mm;
  if (maxSliceMm !== undefined && !(Number.isFinite(maxSliceMm) && maxSliceMm > 0))
    fail(`${at}.input.max_slice_mm`, `must be a positive number of mm, got ${String(maxSliceMm)}`);
  const anchors = n.anchors ?? [];
  const unknownAnchors = anchors.filter((id) => !concepts.some((c) => c.id === id));
  if (unknownAnchors.length) fail(`${at}.anchors`, `names ${unknownAnchors.join(', ')}, not concepts of this network`);
  return {
    id: n.id,
    file,
    ...(n.sha256 ? { sha256: n.sha256.toLowerCase() } : {}),
    modalities: n.modalities,
    orientation: n.input.orientation ?? 'RAS',
    spacing: n.input.spacing,
    patchSize: n.input.patch_size,
    normalization,
    featureChannels: n.output?.feature_channels ?? 0,
    concepts,
    connectedGroups,
    anchors,
    sliceAxis: n.input.slice_axis ?? 'nearest',
    flipSearch: (n.input.flip_search ?? []).map((name) => WORKING_AXIS_NAMES.indexOf(name) as WorkingAxis),
    flipSearchMargin: n.input.flip_search_margin ?? 0,
    ...(maxSliceMm !== undefined ? { maxSliceMm } : {}),
  };
}

/** The contract's defaults filled in (docs/model-contract.md, "Preprocessing"). */
function toNormalization(s: ManifestNormalization): NormalizationSpec {
  if (s.type === 'ct_clip')
    return { type: 'ct_clip', lower: s.lower ?? -1000, upper: s.upper ?? 1000, mean: s.mean ?? 0, std: s.std ?? 300 };
  return {
    type: 'percentile_zscore',
    lowerPercentile: s.lower_percentile ?? 0.5,
    upperPercentile: s.upper_percentile ?? 99.5,
    nonzeroOnly: s.nonzero_only === true,
  };
}

function toConcept(c: ManifestConcept): NetworkConcept {
  const calibration: NetworkConcept['calibration'] = {};
  for (const [modality, e] of Object.entries(c.calibration ?? {}) as Array<[ImagingModality, ManifestCalibration]>) {
    calibration[modality] = {
      probabilityBeta: e.probability_beta,
      intensityBeta: e.intensity_beta,
      presencePlatt: e.presence_platt,
      presenceThreshold: e.presence_threshold,
      minVolumeMl: e.min_volume_ml,
      maxVolumeMl: e.max_volume_ml,
      singleComponent: e.single_component,
      dropMinorIslands: e.drop_minor_islands,
    };
  }
  const withheldOn = Object.fromEntries(
    Object.entries(c.withheld_on ?? {}).map(([scope, reason]) => [scope, reason.trim()]),
  ) as Partial<Record<ScanScope, string>>;
  return {
    id: c.id,
    index: c.index,
    calibration,
    ...(c.withheld ? { withheld: c.withheld.trim() } : {}),
    ...(Object.keys(withheldOn).length ? { withheldOn } : {}),
  };
}

/** A network row that answers a concept. */
export interface ConceptRow {
  network: NetworkSpec;
  entry: NetworkConcept;
}

/**
 * Why a row is not used on this scan, if it is not: withheld everywhere, on this kind of scan, or because
 * the scan's slices are thicker than its network was measured to read.
 */
export function rowWithheldReason(network: NetworkSpec, entry: NetworkConcept, scan: ScanTraits): string | undefined {
  return entry.withheld ?? entry.withheldOn?.[scan.scope] ?? sliceWithheldReason(network, scan);
}

/** Why none of a network's rows is used on a scan of thicker slices than its `max_slice_mm`, if so. */
export function sliceWithheldReason(network: NetworkSpec, scan: ScanTraits): string | undefined {
  if (network.maxSliceMm === undefined || scan.sliceMm <= network.maxSliceMm) return undefined;
  return (
    `this scan's slices are ${scan.sliceMm.toFixed(1)} mm thick, and ${network.id} was measured to work on ` +
    `slices of at most ${network.maxSliceMm} mm (eval --thick-slices)`
  );
}

/**
 * The row that answers a concept in images of a modality on this scan: the first network for the modality
 * that holds it, passing over withheld rows unless `includeWithheld` (what --experimental asks for).
 */
export function answeringRow(
  model: ModelPackage,
  conceptId: string,
  modality: ImagingModality,
  scan: ScanTraits,
  includeWithheld: boolean,
): ConceptRow | undefined {
  for (const network of model.networks) {
    if (!network.modalities.includes(modality)) continue;
    const entry = network.concepts.find((c) => c.id === conceptId);
    if (entry && (includeWithheld || rowWithheldReason(network, entry, scan) === undefined)) return { network, entry };
  }
  return undefined;
}

/** Why the model withholds a concept in images of a modality on this scan (its row in a network for it), if it does. */
export function withheldReason(
  model: ModelPackage,
  conceptId: string,
  modality: ImagingModality,
  scan: ScanTraits,
): string | undefined {
  for (const network of model.networks) {
    if (!network.modalities.includes(modality)) continue;
    const entry = network.concepts.find((c) => c.id === conceptId);
    const reason = entry && rowWithheldReason(network, entry, scan);
    if (reason) return reason;
  }
  return undefined;
}

/**
 * A package as `medparse models --json` lists it: snake_case as model.json and report.json, working axes
 * named as model.json names them, and per network the concepts it answers, those it withholds (with the
 * reason) and those withheld on one kind of scan.
 */
export function modelListing(p: ModelPackage) {
  return {
    dir: p.dir,
    name: p.name,
    version: p.version,
    license: p.license,
    training_data: p.trainingData,
    networks: p.networks.map((n) => ({
      id: n.id,
      file: n.file,
      ...(n.sha256 ? { sha256: n.sha256 } : {}),
      modalities: n.modalities,
      orientation: n.orientation,
      spacing: n.spacing,
      patch_size: n.patchSize,
      normalization: Object.fromEntries(
        Object.entries(n.normalization).map(([modality, spec]) => [modality, storedNormalization(spec)]),
      ),
      feature_channels: n.featureChannels,
      slice_axis: n.sliceAxis,
      flip_search: n.flipSearch.map((axis) => WORKING_AXIS_NAMES[axis]),
      flip_search_margin: n.flipSearchMargin,
      ...(n.maxSliceMm !== undefined ? { max_slice_mm: n.maxSliceMm } : {}),
      connected_groups: n.connectedGroups,
      anchors: n.anchors,
      concepts: n.concepts.filter((c) => !c.withheld).map((c) => c.id),
      withheld: Object.fromEntries(n.concepts.filter((c) => c.withheld).map((c) => [c.id, c.withheld])),
      withheld_on: Object.fromEntries(
        n.concepts.filter((c) => !c.withheld && c.withheldOn).map((c) => [c.id, c.withheldOn]),
      ),
    })),
  };
}

function storedNormalization(spec: NormalizationSpec): ManifestNormalization {
  return spec.type === 'ct_clip'
    ? spec
    : {
        type: spec.type,
        lower_percentile: spec.lowerPercentile,
        upper_percentile: spec.upperPercentile,
        nonzero_only: spec.nonzeroOnly,
      };
}
