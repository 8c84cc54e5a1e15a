/**
 * Stage 2, preparing the volume: refuse what would not fit in memory before any work, and give the
 * volume the affine its stated voxel size implies. Each network's own resampling and normalisation
 * (the model contract) happens in the inference stage, on this volume.
 */
import { MedparseError } from '../../core/errors.js';
import { isSheared, withColumnLengths, type Mat4, type Vec3 } from '../../core/affine.js';
import { spacingOf, type Dims3, type Volume } from '../../core/volume.js';
import type { VolumeHeader } from '../../io/admit.js';
import { straightenedGrid } from '../../ops/index.js';
import { withPhysicalAffine } from '../../runtime/preprocess.js';
import { rowsToRun, withLandmarkRows } from './groups.js';
import type { RequestPlan } from './plan.js';

export interface MemoryOptions {
  /**
   * Refuse requests estimated to need more memory than this (GB). Absent: no limit here; the Node engine
   * (ParseEngine.load) sets 75 % of the machine's, a platform module that knows the machine's memory.
   */
  memoryLimitGb?: number;
  /** Islands kept: connected groups are not joined, so fewer rows run. */
  keepIslands?: boolean;
}

/** The volume the networks read, once the request is known to fit in memory. */
export function prepareVolume(volume: Volume, plan: RequestPlan, options: MemoryOptions = {}): Volume {
  refuseOverLimit(requestBytes(volume, plan, options.keepIslands === true), volume.meta.sourcePath, options);
  return withPhysicalAffine(volume);
}

/**
 * The memory check made from an image's header, before its voxels are read (readVolume's `checkHeader`):
 * the input alone, a lower bound of what any request on it needs, so a header declaring a volume too
 * large for the limit is refused before the volume is read or inflated.
 */
export function checkHeaderMemory(header: VolumeHeader, options: MemoryOptions = {}): void {
  const voxels = header.dims[0] * header.dims[1] * header.dims[2];
  refuseOverLimit(inputBytes(voxels, header.bytesPerVoxel), header.file, options);
}

/** The grid a memory estimate is made on: a volume's, or a header's before any voxel is read. */
export interface MemoryGrid {
  dims: Dims3;
  bytesPerVoxel: number;
  spacing: Vec3;
  /**
   * The affine, when known (its axes are taken at `spacing`'s lengths): a sheared one (a gantry-tilted CT)
   * is worked on straightened, on a grid that covers it (a quarter more voxels for a 512 x 512 x 134 CT at
   * 15 degrees), which is counted instead.
   */
  affine?: Mat4;
}

function requestBytes(volume: Volume, plan: RequestPlan, keepIslands: boolean): number {
  const grid = {
    dims: volume.dims,
    bytesPerVoxel: volume.data.BYTES_PER_ELEMENT,
    spacing: spacingOf(volume),
    affine: volume.affine,
  };
  return estimateRequestBytes(grid, plan, keepIslands);
}

/**
 * Estimated peak memory of a request: the input, one byte per voxel per query on the input grid, and
 * float32 working images and probability maps on each network's grid.
 */
export function estimateRequestBytes(grid: MemoryGrid, plan: RequestPlan, keepIslands: boolean): number {
  const inputVoxels = grid.dims[0] * grid.dims[1] * grid.dims[2];
  const [sx, sy, sz] = grid.spacing;
  let bytes = inputBytes(inputVoxels, grid.bytesPerVoxel);
  const affine = grid.affine && withColumnLengths(grid.affine, grid.spacing);
  for (const [network, rows] of plan.queries) {
    const straightened =
      affine && isSheared(affine) ? straightenedGrid({ dims: grid.dims, affine }, network.spacing).dims : undefined;
    const workingVoxels = straightened
      ? straightened[0] * straightened[1] * straightened[2]
      : (inputVoxels * sx * sy * sz) / (network.spacing[0] * network.spacing[1] * network.spacing[2]);
    // an orientation search holds the best run's maps, the current run's and the judge's copies
    const decoded = withLandmarkRows(network, rows);
    const maps = rowsToRun(network, decoded, keepIslands).length * (network.flipSearch.length ? 3 : 1);
    bytes += inputVoxels * decoded.length + workingVoxels * 4 * (maps + 3);
  }
  return bytes;
}

/**
 * What the networks' sliding windows hold at once, for the largest query: a batch of float32 input
 * patches and the float32 logits of every row run on them (sliding-window.ts), each held twice: in the
 * runtime's memory (onnxruntime's tensors; WebAssembly's in a browser) and in JavaScript (a copy in, a
 * copy out).
 */
export function windowBytes(plan: RequestPlan, batchSize: number, keepIslands: boolean): number {
  let most = 0;
  for (const [network, rows] of plan.queries) {
    const patchVoxels = network.patchSize[0] * network.patchSize[1] * network.patchSize[2];
    const tensors =
      batchSize * patchVoxels * 4 * (1 + rowsToRun(network, withLandmarkRows(network, rows), keepIslands).length);
    most = Math.max(most, 2 * tensors);
  }
  return most;
}

/** The input's voxels and a 4-byte working copy of each: what any request on an image needs at least. */
function inputBytes(voxels: number, bytesPerVoxel: number): number {
  return voxels * (bytesPerVoxel + 4);
}

function refuseOverLimit(bytes: number, file: string | undefined, options: MemoryOptions): void {
  const limitGb = options.memoryLimitGb ?? Infinity;
  const neededGb = bytes / 2 ** 30;
  if (neededGb > limitGb) {
    throw new MedparseError(
      'INVALID_ARGUMENT',
      `the request needs about ${neededGb.toFixed(1)} GB of memory, more than the limit of ${limitGb.toFixed(1)} GB; pass --memory-limit-gb ${Math.ceil(neededGb)} if the machine has it, ask for fewer prompts at once, or crop the image`,
      file,
    );
  }
}
