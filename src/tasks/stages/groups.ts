/**
 * Connected groups: parts of one organ that a network answers as separate rows (the liver's segments)
 * and that must form one connected piece together. A prompted part needs its fellow parts run too.
 */
import { voxelVolumeMl, type Volume } from '../../core/volume.js';
import type { NetworkSpec } from '../../runtime/model-package.js';
import { keepLargestGroupPiece } from '../mask-analysis.js';

/** What a connected group left out of a row's answer: mL apart from the group's largest piece, and the group. */
export interface SetApart {
  volumeMl: number;
  group: string[];
}

/** The network's connected groups (as rows) that hold a prompted row; none when islands are kept. */
export function groupsToJoin(network: NetworkSpec, rows: readonly number[], keepIslands: boolean): number[][] {
  if (keepIslands) return [];
  const rowOf = new Map(network.concepts.map((c) => [c.id, c.index]));
  return network.connectedGroups
    .map((group) => group.map((id) => rowOf.get(id) as number))
    .filter((group) => group.some((row) => rows.includes(row)));
}

/** The prompted rows first, then the fellow parts of their connected groups. */
export function rowsToRun(network: NetworkSpec, rows: readonly number[], keepIslands: boolean): number[] {
  return [...new Set([...rows, ...groupsToJoin(network, rows, keepIslands).flat()])];
}

/**
 * Cuts each group's probability maps (`probabilities[n]` is row `runRows[n]`'s, on `grid`) to the largest
 * piece of their union, in place; returns, by row, what was left out and the group's concept ids.
 */
export function keepGroupPieces(
  network: NetworkSpec,
  groups: number[][],
  runRows: readonly number[],
  probabilities: readonly Float32Array[],
  grid: Volume,
): Map<number, SetApart> {
  const voxelMl = voxelVolumeMl(grid);
  const setApart = new Map<number, SetApart>();
  for (const group of groups) {
    const dropped = keepLargestGroupPiece(
      group.map((row) => probabilities[runRows.indexOf(row)]),
      grid,
    );
    const ids = group.map((row) => network.concepts.find((c) => c.index === row)?.id ?? String(row));
    group.forEach((row, n) => setApart.set(row, { volumeMl: dropped[n] * voxelMl, group: ids }));
  }
  return setApart;
}

/** The network's landmark rows (`anchors`) that `rows` does not already hold. */
export function anchorRowsToAdd(network: NetworkSpec, rows: readonly number[]): number[] {
  return network.anchors
    .map((id) => network.concepts.find((c) => c.id === id)?.index)
    .filter((row): row is number => row !== undefined && !rows.includes(row));
}

/** The prompted rows, then the landmark rows run and judged beside them (never answered unasked). */
export function withLandmarkRows(network: NetworkSpec, rows: readonly number[]): number[] {
  return [...rows, ...anchorRowsToAdd(network, rows)];
}
