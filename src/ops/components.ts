/**
 * 3D connected components by run-length union-find: each image row is reduced to runs of foreground,
 * runs are united with the overlapping runs of the already-seen neighbour rows, and the result is
 * painted run by run. Memory is proportional to the number of runs, not voxels, so keepLargest and
 * removeSmall never allocate a per-voxel label array.
 */
import type { Dims3, Volume, VoxelArray } from '../core/volume.js';
import { checkVolume, invalidArgument, type VoxelBox } from './grid.js';

/** 6: faces; 18: faces and edges; 26: faces, edges and corners. */
export type Connectivity = 6 | 18 | 26;

/** The smallest unsigned array that holds the component count. */
export type LabelArray = Uint8Array | Uint16Array | Uint32Array;

export interface ComponentOptions {
  connectivity?: Connectivity;
  /** Foreground is the voxels equal to this value; by default every nonzero voxel. */
  label?: number;
}

export interface Components {
  /** Component id per voxel: 1 = largest, 0 = background. */
  labels: LabelArray;
  count: number;
  /** Voxel count of component id (index 0 is component 1), decreasing. */
  sizes: number[];
}

/** Which voxels are foreground: value === target, or value !== target when `invert`. */
export interface ForegroundTest {
  target: number;
  invert: boolean;
}

/** Runs of foreground in row-major order; row r = j + ny * k holds runs rowStart[r] .. rowStart[r + 1]. */
export interface RunTable {
  dims: Dims3;
  rowStart: Int32Array;
  /** First voxel (i) of each run and one past its last. */
  start: Int32Array;
  end: Int32Array;
  count: number;
}

/** Components of the runs: `root` per run and the component each root belongs to. */
export interface RunComponents {
  runs: RunTable;
  /** Union-find root (a run index) of each run. */
  root: Int32Array;
}

export function foregroundTest(options: ComponentOptions): ForegroundTest {
  return options.label === undefined ? { target: 0, invert: true } : { target: options.label, invert: false };
}

/** Labels the components, numbered by decreasing size (ties: the one met first in voxel order). */
export function connectedComponents(mask: Volume, options: ComponentOptions = {}): Components {
  checkVolume(mask, 'connectedComponents');
  const linked = linkRuns(findRuns(mask.data, mask.dims, foregroundTest(options)), connectivityOf(options));
  const { idOfRun, sizes } = rankComponents(linked);
  const count = sizes.length;
  const labels: LabelArray =
    count < 256
      ? new Uint8Array(mask.data.length)
      : count < 65536
        ? new Uint16Array(mask.data.length)
        : new Uint32Array(mask.data.length);
  paintRuns(linked, labels, idOfRun);
  return { labels, count, sizes };
}

/** The component labels as a volume on the mask's grid. */
export function componentsVolume(mask: Volume, components: Components): Volume {
  return { dims: [...mask.dims], affine: [...mask.affine], data: components.labels, meta: { ...mask.meta } };
}

/** A uint8 mask (0/1) of the `n` largest components. */
export function keepLargest(mask: Volume, n = 1, options: ComponentOptions = {}): Volume {
  return keepComponents(mask, options, (size, rank) => rank < n);
}

/** A uint8 mask (0/1) without the components smaller than `minVoxels`. */
export function removeSmall(mask: Volume, minVoxels: number, options: ComponentOptions = {}): Volume {
  return keepComponents(mask, options, (size) => size >= minVoxels);
}

/**
 * A uint8 mask (0/1) of the components at least `minFraction` of the largest one's size: islands are
 * dropped relative to the object (both kidneys stay, a stray speck does not), whatever the scan's size.
 */
export function removeMinorComponents(mask: Volume, minFraction: number, options: ComponentOptions = {}): Volume {
  if (!(minFraction >= 0 && minFraction <= 1))
    throw invalidArgument(`minFraction must be in [0, 1], not ${minFraction}`);
  return keepComponents(mask, options, (size, rank, largest) => size >= minFraction * largest);
}

/** Runs the selection once per component (not per voxel) and paints the kept ones. */
function keepComponents(
  mask: Volume,
  options: ComponentOptions,
  keep: (size: number, rank: number, largest: number) => boolean,
): Volume {
  checkVolume(mask, 'keepComponents');
  const linked = linkRuns(findRuns(mask.data, mask.dims, foregroundTest(options)), connectivityOf(options));
  const { idOfRun, sizes } = rankComponents(linked);
  const keepId = new Uint8Array(sizes.length + 1);
  sizes.forEach((size, rank) => (keepId[rank + 1] = keep(size, rank, sizes[0]) ? 1 : 0));
  for (let r = 0; r < idOfRun.length; r++) idOfRun[r] = keepId[idOfRun[r]];
  const out = new Uint8Array(mask.data.length);
  paintRuns(linked, out, idOfRun);
  return { dims: [...mask.dims], affine: [...mask.affine], data: out, meta: { ...mask.meta } };
}

function connectivityOf(options: ComponentOptions): Connectivity {
  const c = options.connectivity ?? 26;
  if (c !== 6 && c !== 18 && c !== 26) throw invalidArgument(`connectivity must be 6, 18 or 26, not ${String(c)}`);
  return c;
}

/**
 * Scans every row once and records its foreground runs (arrays grow by doubling). With `box` (inclusive,
 * on `dims`), only the box is scanned and the runs are those of the box as a volume of its own (a crop,
 * without copying it).
 */
export function findRuns(data: VoxelArray, dims: Dims3, test: ForegroundTest, box?: VoxelBox): RunTable {
  const region = box ?? [0, 0, 0, dims[0] - 1, dims[1] - 1, dims[2] - 1];
  const [nx, ny, nz] = [region[3] - region[0] + 1, region[4] - region[1] + 1, region[5] - region[2] + 1];
  const rows = ny * nz;
  const rowStart = new Int32Array(rows + 1);
  let start: Int32Array = new Int32Array(1024);
  let end: Int32Array = new Int32Array(1024);
  let count = 0;
  const { target, invert } = test;
  for (let r = 0; r < rows; r++) {
    rowStart[r] = count;
    // the row's first voxel in `data`: row j + ny * k of the region
    const base = region[0] + dims[0] * (region[1] + (r % ny) + dims[1] * (region[2] + Math.floor(r / ny)));
    let i = 0;
    while (i < nx) {
      while (i < nx && (data[base + i] === target) === invert) i++;
      if (i >= nx) break;
      const first = i;
      while (i < nx && (data[base + i] === target) !== invert) i++;
      if (count === start.length) {
        start = grow(start);
        end = grow(end);
      }
      start[count] = first;
      end[count] = i;
      count++;
    }
  }
  rowStart[rows] = count;
  return { dims: [nx, ny, nz], rowStart, start, end, count };
}

function grow(array: Int32Array): Int32Array {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

/**
 * Unites every run with the overlapping runs of the neighbour rows already visited. `reach` is how
 * far a run's i-range extends for the overlap test: 1 when diagonal (i +- 1) neighbours connect.
 */
export function linkRuns(runs: RunTable, connectivity: Connectivity): RunComponents {
  const [, ny, nz] = runs.dims;
  const parent = new Int32Array(runs.count);
  for (let i = 0; i < runs.count; i++) parent[i] = i;
  // Previous rows as (dj, dk, reach): the neighbours of (j, k) met earlier in scan order.
  const faceReach = connectivity === 6 ? 0 : 1;
  const neighbours: Array<[number, number, number]> = [
    [-1, 0, faceReach],
    [0, -1, faceReach],
  ];
  if (connectivity !== 6) {
    const diagonalReach = connectivity === 26 ? 1 : 0;
    neighbours.push([-1, -1, diagonalReach], [1, -1, diagonalReach]);
  }
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = j + ny * k;
      for (const [dj, dk, reach] of neighbours) {
        const nj = j + dj;
        const nk = k + dk;
        if (nj < 0 || nj >= ny || nk < 0) continue;
        uniteRows(runs, parent, row, nj + ny * nk, reach);
      }
    }
  }
  const root = new Int32Array(runs.count);
  for (let i = 0; i < runs.count; i++) root[i] = find(parent, i);
  return { runs, root };
}

/** Both rows' runs are sorted by i, so one sweep finds all overlapping pairs. */
function uniteRows(runs: RunTable, parent: Int32Array, row: number, other: number, reach: number): void {
  const { rowStart, start, end } = runs;
  let q = rowStart[other];
  const qEnd = rowStart[other + 1];
  if (q === qEnd) return;
  for (let p = rowStart[row]; p < rowStart[row + 1]; p++) {
    const low = start[p] - reach;
    const high = end[p] + reach;
    while (q < qEnd && end[q] <= low) q++;
    for (let s = q; s < qEnd && start[s] < high; s++) union(parent, p, s);
  }
}

function find(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    parent[i] = parent[parent[i]]; // path halving keeps the trees shallow
    i = parent[i];
  }
  return i;
}

/** The smaller run index becomes the root, so a component's root is its first run in voxel order. */
function union(parent: Int32Array, a: number, b: number): void {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra < rb) parent[rb] = ra;
  else if (rb < ra) parent[ra] = rb;
}

/**
 * Component id (1 = largest) of each run, via its root, and the sizes by id. Ties keep voxel order
 * (the sort is stable and roots are visited in voxel order).
 */
export function rankComponents(linked: RunComponents): { idOfRun: Int32Array; sizes: number[] } {
  const { runs, root } = linked;
  const size = new Float64Array(runs.count);
  for (let p = 0; p < runs.count; p++) size[root[p]] += runs.end[p] - runs.start[p];
  const roots: number[] = [];
  for (let p = 0; p < runs.count; p++) if (root[p] === p) roots.push(p);
  roots.sort((a, b) => size[b] - size[a] || a - b);
  const idOfRun = new Int32Array(runs.count);
  roots.forEach((r, index) => (idOfRun[r] = index + 1));
  for (let p = 0; p < runs.count; p++) idOfRun[p] = idOfRun[root[p]];
  return { idOfRun, sizes: roots.map((r) => size[r]) };
}

/** Writes value[run] over every run with a nonzero value (the output starts zeroed). */
export function paintRuns(linked: RunComponents, out: VoxelArray, valueOfRun: Int32Array): void {
  const { runs } = linked;
  const [nx, ny, nz] = runs.dims;
  const rows = ny * nz;
  for (let r = 0; r < rows; r++) {
    const base = r * nx;
    for (let p = runs.rowStart[r]; p < runs.rowStart[r + 1]; p++) {
      const value = valueOfRun[p];
      if (value !== 0) out.fill(value, base + runs.start[p], base + runs.end[p]);
    }
  }
}
