/**
 * Which certainly-absent concepts eval asks a case about (the false-accept rate's prompts): at most
 * `max`, those a user gets answered on this kind of scan first. Withheld ones are measured too (that is
 * how they earn their way back) but are not what the rate is about: once the hippocampus was withheld on
 * whole scans, ACDC's first 8 candidates had all become withheld ones and the rate measured nothing there.
 */
export function absentPromptOrder(
  candidates: readonly string[],
  isWithheld: (id: string) => boolean,
  max = 8,
): string[] {
  const unique = [...new Set(candidates)];
  return [...unique.filter((id) => !isWithheld(id)), ...unique.filter(isWithheld)].slice(0, max);
}

/** What `withinVoxelBudget` needs of a network: what it reads, its grid and the rows it has. */
export interface BudgetedNetwork {
  modalities: readonly string[];
  spacing: readonly [number, number, number];
  concepts: ReadonlyArray<{ id: string }>;
}

/**
 * Whether a concept can be asked of a scan of `scanMm3` cubic millimetres within `maxWorkingVoxels`: some
 * network that reads the scan's modality and has the concept works on few enough voxels. Only those
 * networks count (body-ct's 3 mm brainstem says nothing of what an MR's brainstem costs at 1 mm). One no
 * network lists ("left putamen", taken from the putamen row's mask) is asked: the engine answers it from
 * other rows or says why it cannot.
 */
export function withinVoxelBudget(
  conceptId: string,
  networks: readonly BudgetedNetwork[],
  modality: string,
  scanMm3: number,
  maxWorkingVoxels: number,
): boolean {
  const answering = networks.filter(
    (n) => n.modalities.includes(modality) && n.concepts.some((c) => c.id === conceptId),
  );
  return (
    answering.length === 0 ||
    answering.some((n) => scanMm3 / (n.spacing[0] * n.spacing[1] * n.spacing[2]) <= maxWorkingVoxels)
  );
}
