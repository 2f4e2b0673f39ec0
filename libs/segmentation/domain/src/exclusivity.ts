/** Exclusivity groups: a profile is in at most one segment of a group. */

export interface ExclusivityCandidate {
  key: string;
  /** Default 0; higher wins. */
  priority?: number;
  group?: string;
}

/**
 * Of the segments a profile qualifies for, keeps in each exclusivity group only the one with
 * the highest priority (ties: the smallest key); segments without a group all stay. The
 * result keeps the input order.
 */
export function resolveExclusivity<T extends ExclusivityCandidate>(candidates: readonly T[]): T[] {
  const winners = new Map<string, T>();
  for (const c of candidates) {
    if (c.group === undefined) continue;
    const w = winners.get(c.group);
    if (!w || beats(c, w)) winners.set(c.group, c);
  }
  return candidates.filter((c) => c.group === undefined || winners.get(c.group) === c);
}

function beats(a: ExclusivityCandidate, b: ExclusivityCandidate): boolean {
  const pa = a.priority ?? 0;
  const pb = b.priority ?? 0;
  return pa !== pb ? pa > pb : a.key < b.key;
}
