/**
 * The dataset shape medparse writes DICOM from. Kept apart from the dcmjs wrapper so that the types the
 * public API reaches (the SEG's label table, result files) do not pull in dcmjs, which ships no types of
 * its own: an installed medparse's declarations must type-check without our ambient `dcmjs` module.
 */

/** A value dcmjs can write: text, numbers, binary pixel data (as a list of frames) or sequences. */
export type WritableValue = string | number | Array<string | number> | ArrayBuffer[] | WritableDataset[] | undefined;
export interface WritableDataset {
  [keyword: string]: WritableValue | Record<string, string>;
  /** VRs for keywords whose dictionary VR is ambiguous, such as PixelData ("OB" or "OW"). */
  _vrMap?: Record<string, string>;
}
