import { spacingOf, type Volume } from '../core/volume.js';

/**
 * What a scan's field of view covers: a crop around one structure, or a whole body region. A concept
 * measured to work on one kind is not assumed to work on the other: brain-mr learnt the hippocampus
 * from small crops (MSD: 40 to 59 mm across) and finds nothing in a whole-brain T1 (256 mm), so the
 * release gate judges each kind on its own (model.json `withheld_on`).
 */
export type ScanScope = 'crop' | 'whole';

export const SCAN_SCOPES: readonly ScanScope[] = ['crop', 'whole'];

/**
 * Scans narrower than this on their longest axis are crops. Every scan in the evaluation data is either
 * under 60 mm (the hippocampus crops) or over 150 mm (heads, chests, abdomens, limb crops), so where
 * exactly the line lies between them changes no verdict.
 */
export const CROP_EXTENT_MM = 100;

/** The longest physical side of the scan's grid, in mm. */
export function fieldOfViewMm(volume: Pick<Volume, 'dims' | 'affine' | 'spacing'>): number {
  const spacing = spacingOf(volume);
  return Math.max(...volume.dims.map((n, axis) => n * spacing[axis]));
}

export function scanScope(volume: Pick<Volume, 'dims' | 'affine' | 'spacing'>): ScanScope {
  return fieldOfViewMm(volume) < CROP_EXTENT_MM ? 'crop' : 'whole';
}

/** How a user reads a scope in a reason: "whole scans (100 mm or more across)". */
export function describeScope(scope: ScanScope): string {
  return scope === 'crop'
    ? `crops (scans under ${CROP_EXTENT_MM} mm across)`
    : `whole scans (${CROP_EXTENT_MM} mm or more across)`;
}

/**
 * What the model's answers depend on besides the modality: the field of view's kind and the scan's thickest
 * voxel side (a network measured on thin slices is not trusted on a thick stack, model.json `max_slice_mm`).
 */
export interface ScanTraits {
  scope: ScanScope;
  /** The largest voxel spacing, in mm: the slice thickness of a stack of slices. */
  sliceMm: number;
}

export function scanTraits(volume: Pick<Volume, 'dims' | 'affine' | 'spacing'>): ScanTraits {
  return { scope: scanScope(volume), sliceMm: Math.max(...spacingOf(volume)) };
}
