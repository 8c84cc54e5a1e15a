/**
 * Writes data/label-neighbours.json: pairs of vocabulary concepts whose labels share a voxel face in a
 * reference label map of ../shared/data (one case per data set, mapped to concepts by
 * data/dataset-labels.json). These are the structures that lie side by side in real scans, so their
 * colours must differ (src/vocab/colours.ts, rule 4); scripts/build-vocabulary.ts reads the file.
 *
 *   npm run build && node dist/scripts/label-neighbours.js [--shared <dir>]
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DATA_DIR, PACKAGE_ROOT } from '../src/core/paths.js';
import { readVolume } from '../src/io/read.js';
import { loadDatasetLabels } from '../src/vocab/index.js';

const REPO_ROOT = PACKAGE_ROOT;

/** Faces two labels must share to count as neighbours: fewer is the noise of automatic labels. */
const MIN_SHARED_FACES = 20;

/** One reference label map per data set: a label-map file, or a folder of one mask per structure. */
const REFERENCE_MAPS: ReadonlyArray<{ dataset: string; path: string; kind: 'label-map' | 'mask-folder' }> = [
  {
    dataset: 'totalsegmentator_total',
    path: 'totalsegmentator/ct/example_seg_fast_force_split.nii.gz',
    kind: 'label-map',
  },
  { dataset: 'totalsegmentator_total', path: 'totalsegmentator/ct/example_seg.nii.gz', kind: 'label-map' },
  { dataset: 'totalsegmentator_total_mr', path: 'totalsegmentator/mr/example_seg_mr.nii.gz', kind: 'label-map' },
  { dataset: 'acdc', path: 'acdc/patient001/patient001_frame01_gt.nii.gz', kind: 'label-map' },
  { dataset: 'openkbp_oars', path: 'openkbp/pt_10_oars.nii.gz', kind: 'label-map' },
  { dataset: 'freesurfer_aparc.a2009s+aseg', path: 'freesurfer/aparc.a2009s+aseg.mgz', kind: 'label-map' },
  { dataset: 'brats2015', path: 'brats2015/train/brats_2013_pat0005_1/OTMultiClass.nii.gz', kind: 'label-map' },
  { dataset: 'kits23', path: 'labels-only/kits23/case_00000_segmentation.nii.gz', kind: 'label-map' },
  { dataset: 'niivue_torso_labels_only', path: 'labels-only/niivue_torso_mr_labels.nii.gz', kind: 'label-map' },
  { dataset: 'deepmind_headneck_oars', path: 'labels-only/deepmind_headneck_oars/0522c0017', kind: 'mask-folder' },
  { dataset: 'totalsegmentator_cta_aorta', path: 'totalsegmentator/cta_aorta', kind: 'mask-folder' },
  { dataset: 'totalsegmentator_cta_pulmonary', path: 'totalsegmentator/cta_pulmonary', kind: 'mask-folder' },
];

interface NeighbourFile {
  version: 1;
  generatedBy: string;
  rule: string;
  maps: string[];
  pairs: Array<{ a: string; b: string; dataset: string }>;
}

async function main(): Promise<void> {
  const sharedIndex = process.argv.indexOf('--shared');
  const shared =
    sharedIndex > 0
      ? resolve(process.argv[sharedIndex + 1])
      : (process.env.MEDPARSE_SHARED ?? join(REPO_ROOT, '..', 'shared'));
  const datasets = loadDatasetLabels().datasets;
  const pairs = new Map<string, { a: string; b: string; dataset: string }>();
  const maps: string[] = [];
  for (const reference of REFERENCE_MAPS) {
    const path = join(shared, 'data', reference.path);
    const labels = datasets[reference.dataset]?.labels;
    if (!existsSync(path) || !labels) {
      console.log(`skipped ${reference.path}: not found`);
      continue;
    }
    const { data, dims, names } =
      reference.kind === 'label-map' ? await readLabelMap(path) : await readMaskFolder(path);
    const conceptOf = (value: number) => labels[names ? (names[value] ?? '') : String(value)]?.concept ?? null;
    let found = 0;
    for (const [x, y] of sharedFaces(data, dims)) {
      const [a, b] = [conceptOf(x), conceptOf(y)];
      if (!a || !b || a === b) continue;
      const [first, second] = a < b ? [a, b] : [b, a];
      const key = `${first}|${second}`;
      if (!pairs.has(key)) {
        pairs.set(key, { a: first, b: second, dataset: reference.dataset });
        found++;
      }
    }
    maps.push(reference.path);
    console.log(`${reference.path}: ${found} new neighbouring concept pairs`);
  }
  const file: NeighbourFile = {
    version: 1,
    generatedBy: 'scripts/label-neighbours.ts from reference label maps in ../shared/data',
    rule: `two concepts whose labels share at least ${MIN_SHARED_FACES} voxel faces in one of the maps`,
    maps,
    pairs: [...pairs.values()].sort((p, q) => p.a.localeCompare(q.a) || p.b.localeCompare(q.b)),
  };
  writeFileSync(join(DATA_DIR, 'label-neighbours.json'), JSON.stringify(file, null, 1) + '\n');
  console.log(`wrote data/label-neighbours.json: ${file.pairs.length} pairs`);
}

async function readLabelMap(
  path: string,
): Promise<{ data: ArrayLike<number>; dims: readonly number[]; names?: undefined }> {
  const volume = await readVolume(path);
  return { data: volume.data, dims: volume.dims };
}

/** A folder of binary masks on one grid as one label map: value n is the n-th file (names[n] its stem). */
async function readMaskFolder(
  folder: string,
): Promise<{ data: Uint16Array; dims: readonly number[]; names: string[] }> {
  const files = readdirSync(folder)
    .filter((f) => /\.(nrrd|nii\.gz)$/.test(f) && !/^(ct_cropped|T\d+_)/.test(f))
    .sort();
  const names = [''];
  let data: Uint16Array | undefined;
  let dims: readonly number[] = [];
  for (const file of files) {
    const mask = await readVolume(join(folder, file));
    if (!data) {
      data = new Uint16Array(mask.data.length);
      dims = mask.dims;
    }
    if (mask.data.length !== data.length) continue;
    names.push(basename(file).replace(/\.(nrrd|nii\.gz)$/, ''));
    const value = names.length - 1;
    for (let i = 0; i < data.length; i++) if (mask.data[i] && !data[i]) data[i] = value;
  }
  return { data: data ?? new Uint16Array(0), dims, names };
}

/** Label pairs sharing at least MIN_SHARED_FACES faces (6-neighbourhood), as [smaller, larger]. */
function sharedFaces(data: ArrayLike<number>, dims: readonly number[]): Array<[number, number]> {
  const [nx, ny, nz] = dims;
  const counts = new Map<string, number>();
  const steps = [1, nx, nx * ny];
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const at = i + nx * (j + ny * k);
        const here = Math.round(data[at]);
        if (here === 0) continue;
        const inside = [i + 1 < nx, j + 1 < ny, k + 1 < nz];
        for (let axis = 0; axis < 3; axis++) {
          if (!inside[axis]) continue;
          const there = Math.round(data[at + steps[axis]]);
          if (there === 0 || there === here) continue;
          const key = here < there ? `${here}|${there}` : `${there}|${here}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      }
  return [...counts]
    .filter(([, n]) => n >= MIN_SHARED_FACES)
    .map(([key]) => key.split('|').map(Number) as [number, number]);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
