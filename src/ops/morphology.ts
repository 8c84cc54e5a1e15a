/**
 * Binary morphology on masks (nonzero = foreground), returning uint8 0/1 masks on the same grid.
 *
 * Structuring elements:
 * - `{ radius, connectivity: 26 }` (default): the (2r+1)^3 cube, i.e. the 26-neighbourhood applied r times;
 * - `{ radius, connectivity: 6 }`: the L1 ball, i.e. the 6-neighbourhood (cross) applied r times;
 * - `{ radiusMm }`: the voxel offsets d within radiusMm in world mm, |A d| with the affine's 3x3 part A
 *   (distance^2 <= radiusMm^2 * (1 + 1e-5), so exact-boundary offsets are in despite rounding): the
 *   ellipsoid of the voxel sizes on an orthogonal grid; on a sheared grid (a gantry-tilted CT read as
 *   acquired) the slanted set of offsets that are truly within radiusMm, not the voxel-size ellipsoid,
 *   whose edge at 20 degrees lies anywhere from 0.81 to 1.16 radiusMm away.
 * Each is computed in O(voxels) whatever the radius: separable 1D passes for the cube, an L1 distance
 * transform for the cross, the exact Euclidean distance transform of distance.ts (Felzenszwalb-
 * Huttenlocher) for the ellipsoid (`squaredDistanceWithin` on a sheared grid, exact up to the radius and
 * about 2 radiusMm / plane spacing + 1 times the cost), all inside the mask's bounding box grown by the element's reach.
 *
 * Voxels outside the volume count as neither foreground nor background: dilation does not come in
 * from outside and erosion does not eat masks that touch the border (as ITK's BinaryErode), so
 * closing never removes and opening never adds voxels.
 */
import { ballReach, isSheared, voxelSizes, type Mat4 } from '../core/affine.js';
import { physicalAffine, type Dims3, type Volume, type VoxelArray } from '../core/volume.js';
import { findRuns, linkRuns, paintRuns, type Connectivity } from './components.js';
import { copyBlock, tightBox } from './crop.js';
import { squaredDistanceInPlace, squaredDistanceWithin } from './distance.js';
import { boxSize, checkVolume, invalidArgument, type VoxelBox } from './grid.js';

export type StructuringElement = { radius: number; connectivity?: 6 | 26 } | { radiusMm: number };

/** Relative slack on the squared radius of the mm ellipsoid (float32 distances). */
const BALL_TOLERANCE = 1e-5;

export function dilate(mask: Volume, element: StructuringElement): Volume {
  return spreadMask(mask, element, 1);
}

export function erode(mask: Volume, element: StructuringElement): Volume {
  return spreadMask(mask, element, 0);
}

/** Erosion then dilation: removes parts thinner than the element. */
export function opening(mask: Volume, element: StructuringElement): Volume {
  return dilate(erode(mask, element), element);
}

/** Dilation then erosion: bridges gaps narrower than the element. */
export function closing(mask: Volume, element: StructuringElement): Volume {
  return erode(dilate(mask, element), element);
}

export interface FillHolesOptions {
  /** Connectivity of the background (default 6, the complement of 26-connected foreground). */
  connectivity?: Connectivity;
}

/** Background components that do not touch the volume's border become foreground (3D). */
export function fillHoles(mask: Volume, options: FillHolesOptions = {}): Volume {
  checkVolume(mask, 'fillHoles');
  const out = new Uint8Array(mask.data.length);
  const box = tightBox(mask.data, mask.dims);
  if (!box) return maskVolume(mask, out);
  // Outside the bounding box all is background connected to the border, so the box's faces can stand
  // in for the border and only the box needs labelling.
  const dims = boxSize(box);
  const work = binaryBlock(mask.data, mask.dims, box);
  fillEnclosedBackground(work, dims, options.connectivity ?? 6, [true, true, true]);
  copyBlock(work, dims, [0, 0, 0], out, mask.dims, box, dims);
  return maskVolume(mask, out);
}

/**
 * Fills holes slice by slice (2D, 4-connected background by default) in the slices normal to `axis`
 * (default 2: the k slices), as for organs whose 3D holes open onto the top or bottom slice.
 */
export function fillHolesSlices(mask: Volume, axis: 0 | 1 | 2 = 2, options: FillHolesOptions = {}): Volume {
  checkVolume(mask, 'fillHolesSlices');
  if (axis !== 0 && axis !== 1 && axis !== 2)
    throw invalidArgument(`fillHolesSlices: axis must be 0, 1 or 2, not ${String(axis)}`);
  const out = new Uint8Array(mask.data.length);
  const source = mask.data;
  for (let i = 0; i < source.length; i++) out[i] = source[i] !== 0 ? 1 : 0;
  const [nx, ny, nz] = mask.dims;
  const inPlane = [0, 1, 2].filter((a) => a !== axis);
  const sliceDims: Dims3 = [mask.dims[inPlane[0]], mask.dims[inPlane[1]], 1];
  const connectivity = options.connectivity === 18 || options.connectivity === 26 ? 18 : 6; // 2D: 4 or 8
  const slice = new Uint8Array(sliceDims[0] * sliceDims[1]);
  for (let s = 0; s < mask.dims[axis]; s++) {
    const box: VoxelBox = [0, 0, 0, nx - 1, ny - 1, nz - 1];
    box[axis] = s;
    box[axis + 3] = s;
    const size = boxSize(box);
    copyBlock(out, mask.dims, box, slice, size, [0, 0, 0], size);
    if (!slice.includes(1)) continue;
    fillEnclosedBackground(slice, sliceDims, connectivity, [true, true, false]);
    copyBlock(slice, size, [0, 0, 0], out, mask.dims, box, size);
  }
  return maskVolume(mask, out);
}

/** Sets to 1 every background component of a 0/1 block that touches none of the checked faces. */
function fillEnclosedBackground(
  work: Uint8Array,
  dims: Dims3,
  connectivity: Connectivity,
  checkedAxes: [boolean, boolean, boolean],
): void {
  const [nx, ny, nz] = dims;
  const linked = linkRuns(findRuns(work, dims, { target: 0, invert: false }), connectivity);
  const { runs, root } = linked;
  const touches = new Uint8Array(runs.count);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = j + ny * k;
      const edgeRow = (checkedAxes[1] && (j === 0 || j === ny - 1)) || (checkedAxes[2] && (k === 0 || k === nz - 1));
      for (let p = runs.rowStart[row]; p < runs.rowStart[row + 1]; p++) {
        if (edgeRow || (checkedAxes[0] && (runs.start[p] === 0 || runs.end[p] === nx))) touches[root[p]] = 1;
      }
    }
  }
  const fillRun = new Int32Array(runs.count);
  for (let p = 0; p < runs.count; p++) fillRun[p] = touches[root[p]] ? 0 : 1;
  paintRuns(linked, work, fillRun);
}

/**
 * Sets to `value` every voxel within the element of a voxel holding `value`: 1 dilates, 0 erodes.
 * Works in the bounding box of the mask grown by the element's reach (+1 for erosion, so the box
 * keeps a ring of the background that surrounds the mask).
 */
function spreadMask(mask: Volume, element: StructuringElement, value: 0 | 1): Volume {
  checkVolume(mask, value === 1 ? 'dilate' : 'erode');
  // millimetres at the voxel size the file states, as volumes and distances elsewhere are measured
  const affine = physicalAffine(mask);
  const reach = elementReach(element, voxelSizes(affine), affine);
  const out = new Uint8Array(mask.data.length);
  const tight = tightBox(mask.data, mask.dims);
  if (!tight) return maskVolume(mask, out);
  const box: VoxelBox = [...tight];
  for (let a = 0; a < 3; a++) {
    const grow = value === 1 ? reach[a] : 1;
    box[a] = Math.max(0, box[a] - grow);
    box[a + 3] = Math.min(mask.dims[a] - 1, box[a + 3] + grow);
  }
  const dims = boxSize(box);
  const work = binaryBlock(mask.data, mask.dims, box);
  if ('radiusMm' in element) spreadBall(work, dims, value, element.radiusMm, affine);
  else if ((element.connectivity ?? 26) === 6) spreadCross(work, dims, value, element.radius);
  else spreadCube(work, dims, value, element.radius);
  copyBlock(work, dims, [0, 0, 0], out, mask.dims, box, dims);
  return maskVolume(mask, out);
}

/** How many voxels the element extends along each axis. */
function elementReach(
  element: StructuringElement,
  spacing: [number, number, number],
  affine: Mat4,
): [number, number, number] {
  if ('radiusMm' in element) {
    if (!(element.radiusMm >= 0)) throw invalidArgument(`morphology: radiusMm ${element.radiusMm} must be >= 0`);
    if (isSheared(affine)) return ballReach(affine, element.radiusMm * Math.sqrt(1 + BALL_TOLERANCE));
    return spacing.map((s) => Math.floor((element.radiusMm * Math.sqrt(1 + BALL_TOLERANCE)) / s)) as [
      number,
      number,
      number,
    ];
  }
  const { radius, connectivity } = element;
  if (!Number.isInteger(radius) || radius < 0)
    throw invalidArgument(`morphology: radius ${radius} must be a whole number of voxels`);
  if (connectivity !== undefined && connectivity !== 6 && connectivity !== 26) {
    throw invalidArgument(`morphology: connectivity must be 6 or 26, not ${String(connectivity)}`);
  }
  return [radius, radius, radius];
}

/** A 0/1 copy of a box of the mask (the box lies inside the volume). */
function binaryBlock(data: VoxelArray, dims: Dims3, box: VoxelBox): Uint8Array {
  const size = boxSize(box);
  const [nx, ny] = dims;
  const out = new Uint8Array(size[0] * size[1] * size[2]);
  let o = 0;
  for (let k = box[2]; k <= box[5]; k++) {
    for (let j = box[1]; j <= box[4]; j++) {
      const row = nx * (j + ny * k);
      for (let i = box[0]; i <= box[3]; i++) out[o++] = data[row + i] !== 0 ? 1 : 0;
    }
  }
  return out;
}

/**
 * Views the block as [inner, n, outer] around `axis` so that lines along the axis are visited with
 * the inner index fastest (memory order) rather than one strided line at a time.
 */
function axisFrame(dims: Dims3, axis: number): { inner: number; n: number; outer: number } {
  const inner = axis === 0 ? 1 : axis === 1 ? dims[0] : dims[0] * dims[1];
  const outer = axis === 0 ? dims[1] * dims[2] : axis === 1 ? dims[2] : 1;
  return { inner, n: dims[axis], outer };
}

/** The cube is the product of three segments, so three 1D spreads (each from an unchanged copy). */
function spreadCube(work: Uint8Array, dims: Dims3, value: number, radius: number): void {
  if (radius === 0) return;
  const source = new Uint8Array(work.length);
  for (let axis = 0; axis < 3; axis++) {
    if (dims[axis] === 1) continue;
    source.set(work);
    const { inner, n, outer } = axisFrame(dims, axis);
    const gap = new Int32Array(inner); // voxels since the last `value` along each line
    for (let o = 0; o < outer; o++) {
      const base = o * n * inner;
      gap.fill(radius + 1);
      for (let t = 0; t < n; t++) spreadStep(source, work, base + t * inner, inner, gap, value, radius);
      gap.fill(radius + 1);
      for (let t = n - 1; t >= 0; t--) spreadStep(source, work, base + t * inner, inner, gap, value, radius);
    }
  }
}

function spreadStep(
  source: Uint8Array,
  work: Uint8Array,
  offset: number,
  inner: number,
  gap: Int32Array,
  value: number,
  radius: number,
): void {
  for (let p = 0; p < inner; p++) {
    const g = source[offset + p] === value ? 0 : gap[p] + 1;
    gap[p] = g;
    if (g <= radius) work[offset + p] = value;
  }
}

/** L1 distance to the nearest `value` voxel: exact with a forward and a backward sweep per axis. */
function spreadCross(work: Uint8Array, dims: Dims3, value: number, radius: number): void {
  if (radius === 0) return;
  const far = 65535;
  const distance = new Uint16Array(work.length);
  for (let i = 0; i < work.length; i++) distance[i] = work[i] === value ? 0 : far;
  for (let axis = 0; axis < 3; axis++) {
    const { inner, n, outer } = axisFrame(dims, axis);
    for (let o = 0; o < outer; o++) {
      const base = o * n * inner;
      for (let t = 1; t < n; t++) relax(distance, base + t * inner, base + (t - 1) * inner, inner);
      for (let t = n - 2; t >= 0; t--) relax(distance, base + t * inner, base + (t + 1) * inner, inner);
    }
  }
  for (let i = 0; i < work.length; i++) if (distance[i] <= radius) work[i] = value;
}

function relax(distance: Uint16Array, offset: number, previous: number, inner: number): void {
  for (let p = 0; p < inner; p++) {
    const candidate = distance[previous + p] + 1; // at most 65536: never stored, as it is not smaller
    if (candidate < distance[offset + p]) distance[offset + p] = candidate;
  }
}

/** Squared Euclidean distance (mm) to the nearest `value` voxel, thresholded at radiusMm^2. */
function spreadBall(work: Uint8Array, dims: Dims3, value: number, radiusMm: number, affine: Mat4): void {
  const limit = radiusMm * radiusMm * (1 + BALL_TOLERANCE);
  const seeded = <T extends Float32Array | Float64Array>(distance: T): T => {
    for (let i = 0; i < work.length; i++) distance[i] = work[i] === value ? 0 : Infinity;
    return distance;
  };
  // float32 on an orthogonal grid (half the memory; the radius is compared with a tolerance); a sheared
  // grid's distances are |A d| in mm, exact up to the radius (distance.ts)
  const distance = isSheared(affine)
    ? squaredDistanceWithin(seeded(new Float64Array(work.length)), dims, affine, Math.sqrt(limit))
    : squaredDistanceInPlace(seeded(new Float32Array(work.length)), dims, voxelSizes(affine));
  for (let i = 0; i < work.length; i++) if (distance[i] <= limit) work[i] = value;
}

function maskVolume(like: Volume, data: Uint8Array): Volume {
  return { dims: [...like.dims], affine: [...like.affine], data, meta: { ...like.meta } };
}
