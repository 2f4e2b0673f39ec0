/**
 * Split (unmerge) with its notices in the right place on `events.resolved`.
 *
 * The domain's `planSplit` gives the writes: (1) the source unlists the identifiers (release
 * claims naming the new profile), (2) the new profile is inserted with them as pending
 * acquisitions, (3) each identity document is compare-and-set to the new profile, (4) both
 * profiles are committed. Until (3), no event can resolve to the new profile. So:
 *
 *   apply (1)–(2) → `announce(plan)` (the caller produces the SplitNotice keyed by the NEW
 *   profile and waits for Kafka's ack) → apply (3)–(4) → the caller produces the SplitNotice
 *   keyed by the SOURCE profile.
 *
 * The notice therefore precedes every event of the new profile on the new profile's partition,
 * and every event the source receives after the split on the source's partition. A conflict in
 * either phase re-plans (the domain continues into the same new profile, found through the
 * source's release claims); the announcement is made once per new profile id. An operation id
 * makes the whole thing idempotent: a retried request with the same id completes what a failed
 * one started, or reports the finished split again without writing.
 *
 * This is the domain's `splitProfile` loop with the apply cut in two; it does not change the
 * domain's plan.
 */
import {
  MAX_REDIRECT_HOPS,
  applyPlan,
  identifierKey,
  loadProfileView,
  planSplit,
  type GraphView,
  type IdentifierRecord,
  type IdentityGraphStore,
  type IdentityRules,
  type ProfileRecord,
  type RuleError,
  type SplitPlan,
  type SplitRequest,
} from '@mosaic/identity-domain';

export interface SplitOperationDeps {
  rules: IdentityRules;
  now: () => Date;
  newProfileId: () => string;
  /** Produce the notice keyed by the new profile; must resolve only when Kafka acknowledged it. */
  announce: (plan: SplitPlan) => Promise<void>;
  /**
   * Called before any of a plan's writes are applied, and for a plan found already applied: the
   * plan's two profiles may be changed from then on, whatever the operation's outcome (a
   * conflict or a failure half-way leaves the writes before it).
   */
  willWrite?: (plan: SplitPlan) => void;
  maxAttempts?: number;
}

export type SplitOperationOutcome = { ok: true; plan: SplitPlan; attempts: number } | { ok: false; errors: RuleError[]; attempts: number; conflict?: boolean };

export async function runSplitOperation(store: IdentityGraphStore, request: SplitRequest, deps: SplitOperationDeps): Promise<SplitOperationOutcome> {
  const maxAttempts = deps.maxAttempts ?? 10;
  const extraKeys = Array.isArray(request.identifiers)
    ? request.identifiers.filter((id) => typeof id?.type === 'string' && typeof id.value === 'string').map(identifierKey)
    : [];
  const announced = new Set<string>();
  const announce = async (plan: SplitPlan): Promise<void> => {
    if (announced.has(plan.newProfileId)) return;
    await deps.announce(plan);
    announced.add(plan.newProfileId);
  };
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const view = await withIdentifiers(store, await loadProfileView(store, request.profileId), extraKeys);
    const result = planSplit({ ...request, view, rules: deps.rules, now: deps.now(), newProfileId: deps.newProfileId });
    if (!result.ok) return { ok: false, errors: result.errors, attempts: attempt };
    const plan = result.plan;
    deps.willWrite?.(plan);
    if (plan.alreadyApplied) {
      await announce(plan);
      return { ok: true, plan, attempts: attempt };
    }
    const cut = firstPointerWrite(plan);
    const before = await applyPlan(store, { writes: plan.writes.slice(0, cut) });
    if (before.status === 'conflict') continue;
    await announce(plan);
    const after = await applyPlan(store, { writes: plan.writes.slice(cut) });
    if (after.status === 'applied') return { ok: true, plan, attempts: attempt };
  }
  return {
    ok: false,
    conflict: true,
    errors: [{ path: 'profileId', message: `the profile kept changing (${maxAttempts} attempts): retry with the same Idempotency-Key` }],
    attempts: maxAttempts,
  };
}

/** Index of the first write that hands an identifier to the new profile (the moment it becomes reachable). */
function firstPointerWrite(plan: SplitPlan): number {
  const i = plan.writes.findIndex((w) => w.op === 'replaceIdentifier' || w.op === 'insertIdentifier' || w.op === 'repointIdentifier');
  return i < 0 ? plan.writes.length : i;
}

/** The view plus the requested identifiers' documents and their owners' chains (so the plan can say whose they are). */
async function withIdentifiers(store: IdentityGraphStore, view: GraphView, keys: readonly string[]): Promise<GraphView> {
  const identifiers = new Map<string, IdentifierRecord>(view.identifiers);
  const profiles = new Map<string, ProfileRecord>(view.profiles);
  for (const record of await store.getIdentifiers(keys.filter((k) => !identifiers.has(k)))) identifiers.set(record._id, record);
  let frontier = [...new Set([...identifiers.values()].map((r) => r.profileId))].filter((id) => !profiles.has(id));
  for (let round = 0; frontier.length > 0 && round <= MAX_REDIRECT_HOPS; round += 1) {
    const found = await store.getProfiles(frontier);
    for (const p of found) profiles.set(p._id, p);
    frontier = found.filter((p) => p.status === 'merged' && p.mergedInto !== undefined && !profiles.has(p.mergedInto)).map((p) => p.mergedInto as string);
  }
  return { identifiers, profiles };
}
