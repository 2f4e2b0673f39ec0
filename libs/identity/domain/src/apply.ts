/**
 * Applies a plan's writes in order. A strict write that fails its condition stops the plan
 * (`conflict`): the caller re-reads and re-plans (the prefix already applied is a state the
 * planner understands). Best-effort writes that find their document changed are `skipped`.
 *
 * Applying the same plan twice is detectable: its first strict write expects a version (or
 * an absent `_id`) that the first application changed, so the second application reports a
 * conflict at that write and changes nothing.
 */
import { isStrictWrite, type GraphWrite } from './model';
import type { IdentityGraphWriter } from './ports';

export interface ApplyResult {
  status: 'applied' | 'conflict';
  /** Writes applied (strict and best-effort). */
  applied: number;
  skipped: number;
  /** Index of the strict write that failed. */
  conflictAt?: number;
  conflictWrite?: GraphWrite;
}

export async function applyPlan(writer: IdentityGraphWriter, plan: { writes: readonly GraphWrite[] }): Promise<ApplyResult> {
  let applied = 0;
  let skipped = 0;
  for (let i = 0; i < plan.writes.length; i += 1) {
    const write = plan.writes[i] as GraphWrite;
    const result = await writer.applyWrite(write);
    if (result === 'applied') applied += 1;
    else if (result === 'skipped' || !isStrictWrite(write)) skipped += 1;
    else return { status: 'conflict', applied, skipped, conflictAt: i, conflictWrite: write };
  }
  return { status: 'applied', applied, skipped };
}
