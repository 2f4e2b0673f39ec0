/**
 * Property-based tests of the resolution rules (fast-check): random event streams over a
 * small population (so identifiers collide, merges and protections happen), random rules
 * (small limits so they bite), one instance, two interleaved instances, and crashes.
 */
import fc from 'fast-check';
import { extractIdentifiers, extractionKeys, type IdentityEventInput } from './extract';
import { InMemoryIdentityStore } from './in-memory-store';
import { checkGraphInvariants } from './invariants';
import { loadResolutionView } from './loader';
import type { GraphWrite } from './model';
import { planResolution } from './planner';
import type { IdentityStore } from './ports';
import { resolveEvent, type ResolutionOutcome } from './resolve';
import { identityRules, type IdentityRules } from './rules';
import { makeBed, T0 } from './test-helpers';

interface EventSpec {
  kind: 'page' | 'identify' | 'click' | 'alias' | 'order';
  anon?: number;
  user?: number;
  email?: number;
  email2?: number;
  phone?: number;
  ext?: number;
  prev?: number;
  prevIsUser?: boolean;
}

const opt = (max: number) => fc.option(fc.integer({ min: 0, max }), { nil: undefined });

const eventSpec: fc.Arbitrary<EventSpec> = fc
  .record({
    kind: fc.constantFrom('page', 'identify', 'click', 'alias', 'order'),
    anon: opt(4),
    user: opt(2),
    email: opt(3),
    email2: opt(3),
    phone: opt(1),
    ext: opt(2),
    prev: fc.integer({ min: 0, max: 4 }),
    prevIsUser: fc.boolean(),
  })
  .map((e) => e as EventSpec);

const rulesArb: fc.Arbitrary<IdentityRules> = fc
  .record({
    user: fc.integer({ min: 1, max: 2 }),
    email: fc.integer({ min: 1, max: 3 }),
    phone: fc.integer({ min: 1, max: 2 }),
    ext: fc.integer({ min: 1, max: 2 }),
    anon: fc.integer({ min: 1, max: 4 }),
    emailPriority: fc.integer({ min: 2, max: 6 }),
  })
  .map((r) =>
    identityRules({
      types: {
        userId: { limit: r.user },
        email: { limit: r.email, priority: r.emailPriority },
        phone: { limit: r.phone },
        'external:*': { limit: r.ext },
        anonymousId: { limit: r.anon },
      },
    }),
  );

let seq = 0;
function toEvent(spec: EventSpec, messageId = `m${(seq += 1)}`): IdentityEventInput {
  const anonymousId = spec.anon === undefined ? undefined : `a${spec.anon}`;
  const userId = spec.user === undefined ? undefined : `u${spec.user}`;
  const email = spec.email === undefined ? undefined : `e${spec.email}@x.io`;
  const contextTraits = {
    ...(spec.email2 === undefined ? {} : { email: `E${spec.email2}@X.io` }),
    ...(spec.phone === undefined ? {} : { phone: `+49 151 0000 00${spec.phone}` }),
  };
  const context = {
    traits: contextTraits,
    ...(spec.ext === undefined ? {} : { externalIds: [{ id: `crm-${spec.ext}`, type: 'crm_id', collection: 'users' }] }),
  };
  switch (spec.kind) {
    case 'identify':
      return { type: 'identify', messageId, anonymousId, userId, traits: email ? { email } : {}, context, properties: {} };
    case 'click':
      return { type: 'track', messageId, event: 'Email Link Clicked', properties: { email: email ?? 'e0@x.io' }, traits: {}, context: {} };
    case 'order':
      return { type: 'track', messageId, event: 'Order Completed', anonymousId, userId, properties: email ? { email } : {}, traits: {}, context };
    case 'alias':
      return {
        type: 'alias',
        messageId,
        userId: userId ?? 'u0',
        previousId: spec.prevIsUser ? `u${(spec.prev ?? 0) % 3}` : `a${spec.prev ?? 0}`,
        anonymousId,
        properties: {},
        traits: {},
        context: {},
      };
    default:
      return { type: 'page', messageId, anonymousId, userId, traits: {}, context, properties: {} };
  }
}

function ownerOf(store: InMemoryIdentityStore, key: string): string | undefined {
  const view = store.view();
  let id = view.identifiers.get(key)?.profileId;
  for (let i = 0; id !== undefined && i < 40; i += 1) {
    const profile = view.profiles.get(id);
    if (!profile) return undefined;
    if (profile.status === 'active') return id;
    id = profile.mergedInto;
  }
  return undefined;
}

describe('properties: one instance', () => {
  it('invariants hold after every event; a re-plan of the last event writes nothing; replaying any prefix changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(rulesArb, fc.array(eventSpec, { minLength: 1, maxLength: 25 }), fc.nat(), async (rules, specs, cut) => {
        const bed = makeBed(rules);
        const events = specs.map((s) => toEvent(s));
        const outcomes: ResolutionOutcome[] = [];
        for (const event of events) {
          const out = await bed.send(event);
          outcomes.push(out);
          expect(bed.invariants({ quiescent: true, strictRedirects: true })).toEqual([]);
          if (out.status !== 'resolved') continue;
          const profileId = out.profileId as string;
          // Resolved to a live profile, which holds every identifier the event resolved with…
          expect(bed.store.view().profiles.get(profileId)?.status).toBe('active');
          for (const id of out.identifiers) expect(ownerOf(bed.store, `${id.type}:${id.value}`)).toBe(profileId);
          // …and none of those it refused.
          for (const r of out.refused) expect(ownerOf(bed.store, `${r.identifier.type}:${r.identifier.value}`)).not.toBe(profileId);
          // Re-planning the same event against the state it produced: nothing to write.
          const extraction = extractIdentifiers(event, rules);
          const view = await loadResolutionView(bed.store, extractionKeys(extraction), event.messageId);
          const again = planResolution({ messageId: event.messageId, extraction, view, rules, now: new Date(bed.now()), newProfileId: () => 'never' });
          expect(again.writes).toEqual([]);
          expect(again.profileId).toBe(profileId);
          expect(again.notices.map((n) => n.loserId)).toEqual(out.notices.map((n) => n.loserId));
        }
        const before = bed.store.snapshot();
        const prefix = events.slice(0, cut % (events.length + 1));
        for (const [i, event] of prefix.entries()) {
          const replay = await bed.send(event);
          expect(replay.status).toBe(outcomes[i]?.status === 'unresolvable' ? 'unresolvable' : 'duplicate');
          expect(replay.profileId).toBe(outcomes[i]?.profileId);
          expect(replay.notices).toEqual(outcomes[i]?.notices);
        }
        expect(bed.store.snapshot()).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });
});

/** A store whose every read and write waits for the fast-check scheduler. */
function scheduledStore(store: InMemoryIdentityStore, s: fc.Scheduler, label: string): IdentityStore {
  return {
    getIdentifiers: async (keys) => {
      await s.schedule(Promise.resolve(), `${label} read identities`);
      return store.getIdentifiers(keys);
    },
    getProfiles: async (ids) => {
      await s.schedule(Promise.resolve(), `${label} read profiles`);
      return store.getProfiles(ids);
    },
    applyWrite: async (write) => {
      await s.schedule(Promise.resolve(), `${label} ${write.op}`);
      return store.applyWrite(write);
    },
    getProcessed: (id) => store.getProcessed(id),
    putProcessed: (r) => store.putProcessed(r),
    appendAudit: (r) => store.appendAudit(r),
  };
}

describe('properties: two interleaved instances', () => {
  it('every interleaving of reads and writes keeps the invariants, at every step and at the end', async () => {
    await fc.assert(
      fc.asyncProperty(rulesArb, fc.array(fc.tuple(eventSpec, fc.boolean()), { minLength: 2, maxLength: 16 }), fc.scheduler(), async (rules, specs, s) => {
        const store = new InMemoryIdentityStore();
        let clock = T0;
        const queues: IdentityEventInput[][] = [[], []];
        for (const [spec, second] of specs) (queues[second ? 1 : 0] as IdentityEventInput[]).push(toEvent(spec));
        const violations: string[] = [];
        const resolved: { profileId: string; identifiers: string[] }[] = [];
        const instance = async (n: number): Promise<void> => {
          let ids = 0;
          const deps = { rules, now: () => new Date((clock += 10)), newProfileId: () => `i${n}-${String((ids += 1)).padStart(3, '0')}`, maxAttempts: 100 };
          const scheduled = scheduledStore(store, s, `instance ${n}`);
          for (const event of queues[n] as IdentityEventInput[]) {
            const out = await resolveEvent(scheduled, event, deps);
            // The other instance may be half-way through a plan right now: the always-invariants must hold.
            violations.push(...checkGraphInvariants(store.snapshot(), rules).map((v) => `after ${event.messageId} on ${n}: ${v}`));
            if (out.profileId !== undefined) {
              if (!store.view().profiles.has(out.profileId)) violations.push(`${event.messageId} resolved to a missing profile ${out.profileId}`);
              resolved.push({ profileId: out.profileId, identifiers: out.identifiers.map((i) => `${i.type}:${i.value}`) });
            }
          }
        };
        await s.waitFor(Promise.all([instance(0), instance(1)]));
        expect(violations).toEqual([]);
        // Quiescent: no leftovers (orphans aside), listings agree with pointers, limits hold.
        expect(
          checkGraphInvariants(store.snapshot(), rules, { quiescent: true, completedMessages: new Set(store.processedRecords().map((r) => r._id)) }),
        ).toEqual([]);
        // Every event's profile still exists and its redirect chain ends at a live profile.
        for (const r of resolved) expect(ownerOfProfile(store, r.profileId)).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });
});

function ownerOfProfile(store: InMemoryIdentityStore, profileId: string): string | undefined {
  const view = store.view();
  let id: string | undefined = profileId;
  for (let i = 0; id !== undefined && i < 40; i += 1) {
    const profile = view.profiles.get(id);
    if (!profile) return undefined;
    if (profile.status === 'active') return id;
    id = profile.mergedInto;
  }
  return undefined;
}

describe('properties: crashes', () => {
  it('a crash after any prefix of any plan, other events, then the re-delivery: invariants hold', async () => {
    await fc.assert(
      fc.asyncProperty(
        rulesArb,
        fc.array(eventSpec, { minLength: 2, maxLength: 16 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        async (rules, specs, crashAt, prefixSeed, othersSeed) => {
          const bed = makeBed(rules);
          const events = specs.map((s) => toEvent(s));
          const index = crashAt % events.length;
          for (const event of events.slice(0, index)) await bed.send(event);
          // Plan the crashing event, apply a prefix of its writes, and "crash" (no record).
          const crashing = events[index] as IdentityEventInput;
          const extraction = extractIdentifiers(crashing, rules);
          if (extractionKeys(extraction).length === 0) return;
          const view = await loadResolutionView(bed.store, extractionKeys(extraction), crashing.messageId);
          const plan = planResolution({ messageId: crashing.messageId, extraction, view, rules, now: new Date(bed.now()), newProfileId: () => 'crashed-0001' });
          const k = plan.writes.length === 0 ? 0 : prefixSeed % plan.writes.length;
          for (const write of plan.writes.slice(0, k) as GraphWrite[]) await bed.store.applyWrite(write);
          expect(bed.invariants()).toEqual([]);
          // Events of other partitions go on; then the crashed message is re-delivered.
          const rest = events.slice(index + 1);
          const before = rest.slice(0, othersSeed % (rest.length + 1));
          for (const event of before) {
            await bed.send(event);
            expect(bed.invariants()).toEqual([]);
          }
          const redelivered = await bed.send(crashing);
          expect(redelivered.status).toBe('resolved');
          for (const event of rest.slice(before.length)) await bed.send(event);
          expect(bed.invariants({ quiescent: true })).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
