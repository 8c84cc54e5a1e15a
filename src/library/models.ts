import { resolve } from 'node:path';
import { MODELS_DIR } from '../core/paths.js';
import { findModelPackages, loadModelPackage, type ModelPackage } from '../runtime/model-package.js';

/** One network of a model package: what it reads and which concepts it answers. */
export interface NetworkSummary {
  id: string;
  modalities: string[];
  /** Working voxel size in mm. */
  spacing: [number, number, number];
  /** Concept ids it answers. */
  concepts: string[];
  /** Concept ids it holds but does not answer (measured not to work), with the reason. */
  withheld: Record<string, string>;
}

export interface ModelSummary {
  name: string;
  version: string;
  license: string;
  /** The folder holding model.json: pass it as `model` to loadParser. */
  dir: string;
  networks: NetworkSummary[];
}

/** The model packages installed in `dir` (default: the models shipped with medparse). */
export function listModels(dir: string = MODELS_DIR): ModelSummary[] {
  return findModelPackages(resolve(dir)).map((path) => summarizeModel(loadModelPackage(path)));
}

export function summarizeModel(model: ModelPackage): ModelSummary {
  return {
    name: model.name,
    version: model.version,
    license: model.license,
    dir: model.dir,
    networks: model.networks.map((n) => ({
      id: n.id,
      modalities: [...n.modalities],
      spacing: [...n.spacing],
      concepts: n.concepts.filter((c) => !c.withheld).map((c) => c.id),
      withheld: Object.fromEntries(n.concepts.flatMap((c) => (c.withheld ? [[c.id, c.withheld]] : []))),
    })),
  };
}
