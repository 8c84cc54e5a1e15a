/**
 * eval --thick-slices: a held-out scan as a scanner acquiring thicker slices would have stored it (a clinical
 * brain FLAIR of 5 mm slices, a cine stack of 10 mm). Along the voxel axis nearest the world's S-I axis,
 * every `factor` consecutive slices become one: the image slice is their mean (a thick slice integrates its
 * slab), the label slice is the slab's most frequent label per voxel (what a reader would draw on the thick
 * slice). A partial slab at the end is dropped.
 */
import { axisMapping } from '../core/orientation.js';
import { spacingOf, voxelCount, type Dims3, type Volume, type VoxelArray } from '../core/volume.js';

export type SlabValue = 'mean' | 'mode';

/** The axis a scan's slices are stacked along and how many thin slices make one of `mm`. */
export function thickSlicePlan(
  volume: Pick<Volume, 'affine' | 'spacing'>,
  mm: number,
): { axis: number; factor: number } {
  const axis = axisMapping(volume.affine).worldAxis.indexOf(2);
  const thin = spacingOf(volume)[axis];
  const factor = Math.round(mm / thin);
  if (!(factor >= 2))
    throw new Error(
      `--thick-slices ${mm} mm: the scan's slices are already ${thin.toFixed(2)} mm; ask for at least twice that`,
    );
  return { axis, factor };
}

/** The volume with every `factor` slices along `axis` made one (see the module's comment). */
export function thickenSlices(volume: Volume, axis: number, factor: number, value: SlabValue): Volume {
  if (!Number.isInteger(factor) || factor < 2)
    throw new Error(`thickenSlices: factor ${factor} is not a whole number of at least 2`);
  const dims = [...volume.dims] as Dims3;
  const slabs = Math.floor(dims[axis] / factor);
  if (slabs < 1) throw new Error(`thickenSlices: ${dims[axis]} slices make no slab of ${factor}`);
  const out = [...dims] as Dims3;
  out[axis] = slabs;
  const stride = [1, dims[0], dims[0] * dims[1]][axis];
  const data: VoxelArray =
    value === 'mean'
      ? new Float32Array(voxelCount(out))
      : new (volume.data.constructor as new (n: number) => VoxelArray)(voxelCount(out));
  const slab = new Float64Array(factor);
  let o = 0;
  for (let k = 0; k < out[2]; k++)
    for (let j = 0; j < out[1]; j++)
      for (let i = 0; i < out[0]; i++) {
        const at = [i, j, k];
        at[axis] *= factor;
        const first = at[0] + dims[0] * (at[1] + dims[1] * at[2]);
        for (let s = 0; s < factor; s++) slab[s] = volume.data[first + s * stride];
        data[o++] = value === 'mean' ? mean(slab) : mode(slab);
      }
  return {
    ...volume,
    dims: out,
    data,
    affine: thickAffine(volume.affine, axis, factor),
    ...(volume.spacing ? { spacing: volume.spacing.map((s, a) => (a === axis ? s * factor : s)) as Dims3 } : {}),
  };
}

/** Each thick slice's centre is its slab's centre: the axis's column grows `factor` times and the origin moves half a slab less one slice. */
function thickAffine(affine: readonly number[], axis: number, factor: number): number[] {
  const out = [...affine];
  for (let r = 0; r < 3; r++) {
    out[r * 4 + 3] += (affine[r * 4 + axis] * (factor - 1)) / 2;
    out[r * 4 + axis] *= factor;
  }
  return out;
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** The most frequent value; a tie goes to the value nearest the slab's middle. */
function mode(values: Float64Array): number {
  const middle = (values.length - 1) / 2;
  let best = values[0];
  let bestCount = 0;
  let bestDistance = Infinity;
  for (let s = 0; s < values.length; s++) {
    let count = 0;
    let distance = Infinity;
    for (let t = 0; t < values.length; t++)
      if (values[t] === values[s]) {
        count++;
        distance = Math.min(distance, Math.abs(t - middle));
      }
    if (count > bestCount || (count === bestCount && distance < bestDistance)) {
      best = values[s];
      bestCount = count;
      bestDistance = distance;
    }
  }
  return best;
}
