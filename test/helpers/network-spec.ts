import type { NetworkSpec } from '../../src/runtime/model-package.js';

/**
 * A network written by hand (tests and benches that need no model file): the neutral choices of
 * docs/model-contract.md (no orientation search, no landmarks, no connected groups, no concepts) under
 * whatever the caller sets, so a new NetworkSpec field is defaulted in one place.
 */
export function networkSpec(overrides: Partial<NetworkSpec> = {}): NetworkSpec {
  return {
    id: 'test',
    file: '',
    modalities: ['CT'],
    orientation: 'RAS',
    spacing: [1, 1, 1],
    patchSize: [16, 16, 16],
    normalization: {},
    featureChannels: 0,
    concepts: [],
    connectedGroups: [],
    anchors: [],
    sliceAxis: 'nearest',
    flipSearch: [],
    flipSearchMargin: 0,
    ...overrides,
  };
}
