import { MedparseError } from '../core/errors.js';
import type { Volume } from '../core/volume.js';
import { percentiles } from '../ops/index.js';
import type { ImagingModality } from '../runtime/model-package.js';

export type ModalitySource = 'user' | 'metadata' | 'guessed';

/**
 * The image's modality: what the user said, else what the file says (DICOM, MetaImage), else a guess
 * from the values: CT holds air near -1000 HU, MR has no large negative values.
 */
export function resolveModality(
  volume: Volume,
  requested?: string,
): { modality: ImagingModality; source: ModalitySource } {
  if (requested !== undefined) {
    const upper = requested.toUpperCase();
    if (upper !== 'CT' && upper !== 'MR')
      throw new MedparseError('INVALID_ARGUMENT', `--modality must be CT or MR, got "${requested}"`);
    const stated = volume.meta.modality;
    if ((stated === 'CT' || stated === 'MR') && stated !== upper) {
      throw new MedparseError(
        'INVALID_ARGUMENT',
        `--modality ${upper} contradicts the file, which says ${stated}; leave --modality out to use the file's`,
        volume.meta.sourcePath,
      );
    }
    return { modality: upper, source: 'user' };
  }
  if (volume.meta.modality === 'CT' || volume.meta.modality === 'MR')
    return { modality: volume.meta.modality, source: 'metadata' };
  const [low] = percentiles(volume.data, [1]);
  return { modality: low < -500 ? 'CT' : 'MR', source: 'guessed' };
}
