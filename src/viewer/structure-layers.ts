/**
 * Each structure of a label map as its own NiiVue overlay layer, so that each has its own opacity:
 * NiiVue draws a label colormap's alpha all or nothing (its overlay shader steps it to 0 or 1) and
 * applies opacity per layer. The layers share one copy of the label map's voxels; each layer's
 * colormap shows its own label only, so any layer also says which label lies at a location.
 */
import type { Niivue, NiiVueLocation, NVImage } from '@niivue/niivue';
import type { NiivueLabelColormap } from '../io/label-table.js';

interface Layer {
  image: NVImage;
  /** The layer's colormap: the whole legend, every entry but its own transparent. */
  colormap: NiivueLabelColormap;
  entry: number;
}

export class StructureLayers {
  private readonly layers = new Map<number, Layer>();

  constructor(private readonly nv: Niivue) {}

  /** Replaces the layers with those of `labels` (a label map on the scan's grid), one per label of `legend`. */
  show(labels: NVImage, legend: NiivueLabelColormap, opacity: number): void {
    this.clear();
    legend.I.forEach((value, entry) => {
      if (value === 0) return; // the background
      // the first layer is the label map itself; the others share its voxels (clone copies them)
      const image = this.layers.size === 0 ? labels : labels.clone();
      image.img = labels.img;
      const colormap = structuredClone(legend);
      colormap.A = colormap.A.map((alpha, i) => (i === entry ? 255 : 0));
      image.opacity = opacity;
      image.setColormapLabel(structuredClone(colormap));
      this.nv.addVolume(image);
      this.layers.set(value, { image, colormap, entry });
    });
  }

  /** Removes every layer (the scan stays). */
  clear(): void {
    for (const { image } of this.layers.values()) this.nv.removeVolume(image);
    this.layers.clear();
  }

  /** One structure's opacity, 0 to 1. */
  setOpacity(value: number, opacity: number): void {
    const layer = this.layers.get(value);
    if (layer) this.nv.setOpacity(this.nv.volumes.indexOf(layer.image), opacity);
  }

  /** Every structure's opacity. */
  setAllOpacity(opacity: number): void {
    for (const value of this.layers.keys()) this.setOpacity(value, opacity);
  }

  /** Shows or hides one structure (its colour made transparent; its opacity is kept for when it shows again). */
  setVisible(value: number, visible: boolean): void {
    const layer = this.layers.get(value);
    if (!layer) return;
    layer.colormap.A[layer.entry] = visible ? 255 : 0;
    layer.image.setColormapLabel(structuredClone(layer.colormap));
    this.nv.updateGLVolume();
  }

  /** The label value at a location NiiVue reports (0 where none is, or with no layers). */
  labelAt(location: NiiVueLocation): number {
    const first = this.layers.values().next().value;
    if (!first) return 0;
    return Math.round(location.values[this.nv.volumes.indexOf(first.image)]?.value ?? 0);
  }
}
