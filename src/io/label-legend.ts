/**
 * A label map's legend (labels.json): its types and how it is made, without a file system (the
 * in-browser engine builds one too). Reading and writing the file: label-table.ts.
 */
/** A label map's legend: what each value means, how to show it, and how it is coded. */
export interface LabelEntry {
  value: number;
  name: string;
  /** Vocabulary concept id, when the label is a known concept. */
  id?: string;
  color: [number, number, number];
  snomed?: { code: string; meaning: string };
  /** Side of a sided structure (left kidney), as the vocabulary gives it. */
  laterality?: 'left' | 'right' | 'bilateral';
  /** The SNOMED laterality modifier of the DICOM SEG segment (Left 7771000, Right 24028007). */
  modifier?: { code: string; meaning: string };
  /** For a label of a results folder: how the answer's mask sits in the label map (src/tasks/label-map.ts). */
  answer?: {
    label_voxels: number;
    label_volume_ml: number;
    mask_voxels: number;
    mask_volume_ml: number;
    /** Mask voxels that carry another answer's label (a part or a lesion inside this one). */
    mask_in_other_labels: Array<{ value: number; name: string; voxels: number; volume_ml: number }>;
    note: string;
  };
}

/** A label map's legend (schemas/labels.schema.json); labels.json adds `niivue`, the same legend for NiiVue. */
export interface LabelTable {
  schema: 'medparse-label-table/1';
  labels: LabelEntry[];
  niivue?: NiivueLabelColormap;
}

/** The same legend as NiiVue's label colormap ({R, G, B, I, labels}), index 0 = background. */
export interface NiivueLabelColormap {
  R: number[];
  G: number[];
  B: number[];
  A: number[];
  I: number[];
  labels: string[];
}

export function makeLabelTable(labels: LabelEntry[]): LabelTable {
  const seen = new Set<number>();
  for (const label of labels) {
    if (!Number.isInteger(label.value) || label.value <= 0)
      throw new Error(`label value ${label.value} must be a positive integer`);
    if (seen.has(label.value)) throw new Error(`label value ${label.value} appears twice in the label table`);
    seen.add(label.value);
  }
  return { schema: 'medparse-label-table/1', labels: [...labels].sort((a, b) => a.value - b.value) };
}

export function toNiivueColormap(table: LabelTable): NiivueLabelColormap {
  const out: NiivueLabelColormap = { R: [0], G: [0], B: [0], A: [0], I: [0], labels: ['background'] };
  for (const label of table.labels) {
    out.R.push(label.color[0]);
    out.G.push(label.color[1]);
    out.B.push(label.color[2]);
    out.A.push(255);
    out.I.push(label.value);
    out.labels.push(label.name);
  }
  return out;
}

/** Sidecar path of a label map: the same stem with .json (labels.nii.gz -> labels.json). */
export function labelTablePath(labelMapPath: string): string {
  return labelMapPath.replace(/\.nii(\.gz)?$/i, '') + '.json';
}

/** A distinct, stable colour for label value `n` when the vocabulary gives none (golden-angle hues). */
export function defaultLabelColor(n: number): [number, number, number] {
  const hue = (n * 137.508) % 360;
  const [s, l] = [0.65, 0.55];
  const k = (m: number) => (m + hue / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (m: number) => l - a * Math.max(-1, Math.min(k(m) - 3, Math.min(9 - k(m), 1)));
  return [Math.round(255 * f(0)), Math.round(255 * f(8)), Math.round(255 * f(4))];
}
