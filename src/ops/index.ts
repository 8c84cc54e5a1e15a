/** Volume operations on typed arrays: geometry-exact reorientation, resampling, cropping,
 * normalisation, connected components, morphology and per-label statistics. */
export * from './grid.js';
export * from './reorient.js';
export * from './resample.js';
export * from './crop.js';
export * from './normalize.js';
export * from './components.js';
export * from './morphology.js';
export * from './statistics.js';
