/**
 * Helpers for this library's specs (not exported from the index): a test bed with a
 * deterministic clock and profile ids over the in-memory store, and event builders.
 */
import type { IdentityEventInput } from './extract';
import { InMemoryIdentityStore } from './in-memory-store';
import { checkGraphInvariants, type InvariantOptions } from './invariants';
import { resolveEvent, type ResolutionOutcome, type ResolveDeps } from './resolve';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from './rules';

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

export interface TestBed {
  store: InMemoryIdentityStore;
  deps: ResolveDeps;
  rules: IdentityRules;
  send(event: IdentityEventInput): Promise<ResolutionOutcome>;
  advance(ms: number): void;
  now(): number;
  /** The live profile an identifier resolves to (following redirects), or undefined. */
  profileOf(type: string, value: string): string | undefined;
  invariants(options?: InvariantOptions): string[];
}

export function makeBed(rules: IdentityRules = DEFAULT_IDENTITY_RULES, options: { idPrefix?: string; store?: InMemoryIdentityStore } = {}): TestBed {
  const store = options.store ?? new InMemoryIdentityStore();
  let now = T0;
  let seq = 0;
  const prefix = options.idPrefix ?? 'p';
  const deps: ResolveDeps = { rules, now: () => new Date(now), newProfileId: () => `${prefix}${String((seq += 1)).padStart(4, '0')}` };
  return {
    store,
    deps,
    rules,
    async send(event) {
      const outcome = await resolveEvent(store, event, deps);
      now += 1000;
      return outcome;
    },
    advance(ms) {
      now += ms;
    },
    now: () => now,
    profileOf(type, value) {
      const view = store.view();
      let id = view.identifiers.get(`${type}:${value}`)?.profileId;
      for (let hops = 0; id !== undefined && hops < 40; hops += 1) {
        const profile = view.profiles.get(id);
        if (!profile) return undefined;
        if (profile.status === 'active') return id;
        id = profile.mergedInto;
      }
      return undefined;
    },
    invariants: (opts) => checkGraphInvariants(store.snapshot(), rules, { completedMessages: new Set(store.processedRecords().map((r) => r._id)), ...opts }),
  };
}

let messageSeq = 0;

export function nextMessageId(): string {
  messageSeq += 1;
  return `msg-${String(messageSeq).padStart(6, '0')}`;
}

export interface Ids {
  anonymousId?: string;
  userId?: string;
  email?: string;
  phone?: string;
  externalIds?: { id: string; type: string; collection?: string }[];
  messageId?: string;
}

/** A page view carrying the ids (email/phone via context.traits). */
export function page(ids: Ids): IdentityEventInput {
  return {
    type: 'page',
    messageId: ids.messageId ?? nextMessageId(),
    ...(ids.anonymousId === undefined ? {} : { anonymousId: ids.anonymousId }),
    ...(ids.userId === undefined ? {} : { userId: ids.userId }),
    properties: {},
    traits: {},
    context: {
      ...(ids.email === undefined && ids.phone === undefined
        ? {}
        : { traits: { ...(ids.email ? { email: ids.email } : {}), ...(ids.phone ? { phone: ids.phone } : {}) } }),
      ...(ids.externalIds ? { externalIds: ids.externalIds } : {}),
    },
  };
}

/** An identify call (email/phone as traits). */
export function identify(ids: Ids): IdentityEventInput {
  return {
    type: 'identify',
    messageId: ids.messageId ?? nextMessageId(),
    ...(ids.anonymousId === undefined ? {} : { anonymousId: ids.anonymousId }),
    ...(ids.userId === undefined ? {} : { userId: ids.userId }),
    properties: {},
    traits: { ...(ids.email ? { email: ids.email } : {}), ...(ids.phone ? { phone: ids.phone } : {}) },
    context: ids.externalIds ? { externalIds: ids.externalIds } : {},
  };
}

export function alias(userId: string, previousId: string, anonymousId?: string): IdentityEventInput {
  return { type: 'alias', messageId: nextMessageId(), userId, previousId, ...(anonymousId ? { anonymousId } : {}), properties: {}, traits: {}, context: {} };
}

/** A track of one of the email events, carrying only `properties.email`. */
export function emailClick(email: string, messageId = nextMessageId()): IdentityEventInput {
  return { type: 'track', messageId, event: 'Email Link Clicked', properties: { email }, traits: {}, context: {} };
}
