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
