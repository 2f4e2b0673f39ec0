/**
 * Applies one consumer batch of `events.resolved` to the profiles in MongoDB and returns the
 * `profiles.changes` messages to produce, in order. Pure domain logic (`applyEvent`,
 * `foldMerge`, `recomputeFromEvents`) on documents read in bulk and written back in bulk with
 * compare-and-set on `version`.
 *
 * Exactly-once in state (DESIGN §8): a message id is applied to a profile at most once. The
 * guard is the ring of applied ids on the profile document, written in the same single-document
 * write as the change it guards. While a profile's ring is not full it holds every id ever
 * applied to that profile; once it is full, ids not in it are also looked up in the events
 * collection (every applied event is stored there, within the retention).
 *
 * Order of writes per batch segment: profiles (compare-and-set) → events (insert-if-absent) →
 * the caller produces the changes → the consumer commits. A crash anywhere re-delivers the
 * batch; its events are then duplicates, which still store their event document (in case the
 * crash came before) and still produce their change (with `changed: []`, the profile as it
 * is now), because nobody knows whether the first copy was produced: consumers of
 * `profiles.changes` see at-least-once delivery and de-duplicate by trigger message id.
 *
 * Conflicts (another instance wrote the profile meanwhile: a rebalance, or an event of a
 * merged-away profile following its redirect) re-read and re-apply only that profile's
 * messages, up to `maxAttempts` times.
 *
 * Merge and split notices are handled one at a time between the events around them:
 * - merge: the loser becomes a redirect first (compare-and-set, so no event can still land on
 *   it afterwards: they follow the redirect), its events move to the survivor, then its state
 *   is folded into the survivor (`foldMerge`, idempotent through `mergedFrom`);
 * - split: events carrying a split-off identifier move to the new profile, and both profiles
 *   are recomputed from their events.
 */
import {
  type CompactProfile,
  type Identifier,
  type MergeNotice,
  type ProfileChange,
  type ResolvedEvent,
  type ResolvedMessage,
  type SplitNotice,
} from '@mosaic/contracts';
import {
  type CategoryPriceIndex,
  type EnrichmentConfig,
  type ProfileState,
  applyEvent,
  emptyProfile,
  enrichmentConfig,
  eventTime,
  foldMerge,
  pushRing,
  alreadyFolded,
  changedPaths,
  recomputeFromEvents,
  toCompactProfile,
} from '@mosaic/enrichment-domain';
import { LruMap } from '@mosaic/shared-service';
import { type EventDocument, type ProfileDocument, documentToState, identifierKey, stateToDocument } from './documents';
import type { MongoProfileStore } from './profile-store';

export interface InboundResolved {
  /** Envelope messageId (the raw event's for events; deterministic for notices). */
  messageId: string;
  correlationId: string;
  payload: ResolvedMessage;
}

export interface ChangeOut {
  key: string;
  /** Envelope messageId of the change: `chg:<profileId>:<trigger messageId>`. */
  messageId: string;
  correlationId: string;
  change: ProfileChange;
  /** The trigger had been applied before (a redelivery or replay). */
  duplicate: boolean;
}

export interface ApplierOptions {
  store: MongoProfileStore;
  config?: Partial<EnrichmentConfig>;
  /** Anonymous profiles expire this long after their last activity (default one year). */
  anonymousTtlMs: number;
  /** Merged-away profiles stay as redirects this long (default 30 days). */
  redirectTtlMs: number;
  /** Events are kept this long after their time (the timeline; default 400 days). */
  eventRetentionMs: number;
  maxAttempts?: number;
  now?: () => Date;
  priceIndex?: () => CategoryPriceIndex | undefined;
  /** Prices seen on product events (the service's category price index). */
  observePrice?: (category: string, price: number) => void;
  /**
   * Profile documents kept in memory between batches (LRU; 0 = none). Safe because every write
   * is a compare-and-set on the version: a stale copy (another instance wrote meanwhile, the RFM
   * job, the sweep) makes the write conflict, and a conflict drops the copy and re-reads.
   */
  cacheMaxEntries?: number;
  /**
   * Events applied per read-apply-write round (default 100). A long Kafka batch is applied in
   * such segments with a consumer heartbeat after each, so a slow store never outlives the
   * consumer session.
   */
  segmentEvents?: number;
}

export interface BatchStats {
  /** Profile documents found in the per-instance cache / read from MongoDB. */
  cacheHits: number;
  cacheMisses: number;
  applied: number;
  duplicates: number;
  merges: number;
  splits: number;
  conflicts: number;
  profilesWritten: number;
}

interface Working {
  id: string;
  orig: ProfileDocument | null;
  state: ProfileState | undefined;
  dirty: boolean;
  items: { index: number; out: ChangeOut; event?: EventDocument }[];
}

const PRICE_EVENTS = new Set(['Product Viewed', 'Product Added']);

export class BatchApplier {
  readonly cfg: EnrichmentConfig;
  readonly cache: LruMap<string, ProfileDocument>;
  private readonly maxAttempts: number;
  private readonly now: () => Date;

  constructor(private readonly opts: ApplierOptions) {
    this.cfg = enrichmentConfig(opts.config);
    this.maxAttempts = opts.maxAttempts ?? 10;
    this.now = opts.now ?? (() => new Date());
    this.cache = new LruMap(opts.cacheMaxEntries ?? 0);
  }

  async applyBatch(items: readonly InboundResolved[], hooks: { afterSegment?: () => Promise<void> } = {}): Promise<{ changes: ChangeOut[]; stats: BatchStats }> {
    const stats: BatchStats = { cacheHits: 0, cacheMisses: 0, applied: 0, duplicates: 0, merges: 0, splits: 0, conflicts: 0, profilesWritten: 0 };
    const changes: ChangeOut[] = [];
    let run: InboundResolved[] = [];
    const flush = async () => {
      if (run.length === 0) return;
      changes.push(...(await this.applyEvents(run, stats)));
      run = [];
      await hooks.afterSegment?.();
    };
    const segment = Math.max(1, this.opts.segmentEvents ?? 100);
    for (const item of items) {
      if (item.payload.kind === 'event') {
        run.push(item);
        if (run.length >= segment) await flush();
        continue;
      }
      await flush();
      if (item.payload.kind === 'merge') changes.push(...(await this.merge(item, item.payload, stats)));
      else changes.push(...(await this.split(item, item.payload, stats)));
      await hooks.afterSegment?.();
    }
    await flush();
    return { changes, stats };
  }

  // ---- events ---------------------------------------------------------------------------------

  private async applyEvents(items: readonly InboundResolved[], stats: BatchStats): Promise<ChangeOut[]> {
    const results = new Map<number, ChangeOut>();
    let pending = items.map((item, index) => ({ item, index }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > this.maxAttempts) throw new Error(`profiles kept changing under ${pending.length} event(s) (${this.maxAttempts} attempts); the batch is retried`);
      if (attempt > 1) await jitter(attempt);
      const now = this.now();
      const nowIso = now.toISOString();
      const targets = await this.targetsOf(pending.map((p) => (p.item.payload as ResolvedEvent).profileId), stats);
      const working = new Map<string, Working>();
      const known = await this.storedEventIds(pending, targets);
      for (const { item, index } of pending) {
        const resolved = item.payload as ResolvedEvent;
        const target = targets.get(resolved.profileId) as { id: string; doc: ProfileDocument | null };
        let w = working.get(target.id);
        if (!w) {
          w = { id: target.id, orig: target.doc, state: target.doc ? documentToState(target.doc) : undefined, dirty: false, items: [] };
          working.set(target.id, w);
        }
        const input: ResolvedEvent = target.id === resolved.profileId ? resolved : { ...resolved, profileId: target.id };
        const dup = known.has(item.messageId);
        const res = dup && w.state ? { state: w.state, changed: [], duplicate: true } : applyEvent(w.state, input, { now: nowIso, config: this.cfg, priceIndex: this.opts.priceIndex?.() });
        w.state = res.state;
        if (!res.duplicate) w.dirty = true;
        w.items.push({ index, out: this.changeOut(res.state, res.changed, item, res.duplicate, nowIso, 'event', res.profile), event: this.eventDocument(input, item) });
      }
      const dirty = [...working.values()].filter((w) => w.dirty);
      const written = new Map(dirty.map((w) => [w.id, this.activeDocument(w.state as ProfileState)]));
      const outcome = await this.opts.store.writeProfiles(dirty.map((w) => ({ expected: w.orig ? w.orig.version : null, doc: written.get(w.id) as ProfileDocument })));
      const next: typeof pending = [];
      const events: EventDocument[] = [];
      for (const w of working.values()) {
        if (w.dirty && outcome.get(w.id) !== 'applied') {
          stats.conflicts += 1;
          this.cache.delete(w.id);
          for (const i of w.items) next.push({ item: items[i.index] as InboundResolved, index: i.index });
          continue;
        }
        if (w.dirty) {
          stats.profilesWritten += 1;
          this.cache.set(w.id, written.get(w.id) as ProfileDocument);
        }
        for (const i of w.items) {
          results.set(i.index, i.out);
          if (i.event) events.push(i.event);
          if (i.out.duplicate) stats.duplicates += 1;
          else {
            stats.applied += 1;
            this.observePrices(items[i.index] as InboundResolved);
          }
        }
      }
      await this.opts.store.putEvents(events);
      pending = next.sort((a, b) => a.index - b.index);
    }
    return items.map((_, i) => results.get(i) as ChangeOut);
  }

  /** The live profile each id resolves to (following redirects; a missing one is itself, to be created). */
  private async targetsOf(ids: readonly string[], stats: BatchStats): Promise<Map<string, { id: string; doc: ProfileDocument | null }>> {
    const docs = new Map<string, ProfileDocument>();
    let wanted = [...new Set(ids)];
    for (let hop = 0; hop <= 10 && wanted.length > 0; hop += 1) {
      const toRead: string[] = [];
      for (const id of wanted) {
        const hit = this.cache.get(id);
        if (hit) docs.set(id, hit);
        else toRead.push(id);
      }
      stats.cacheHits += wanted.length - toRead.length;
      stats.cacheMisses += toRead.length;
      const found = await this.opts.store.getProfiles(toRead);
      for (const [id, d] of found) {
        docs.set(id, d);
        this.cache.set(id, d);
      }
      wanted = wanted.map((id) => docs.get(id)).filter((d): d is ProfileDocument => d !== undefined && d.status === 'merged' && !!d.mergedInto && !docs.has(d.mergedInto)).map((d) => d.mergedInto as string);
    }
    const out = new Map<string, { id: string; doc: ProfileDocument | null }>();
    for (const id of new Set(ids)) {
      let current = id;
      const seen = new Set<string>();
      for (;;) {
        const d = docs.get(current);
        if (!d || d.status !== 'merged' || !d.mergedInto || seen.has(d.mergedInto) || seen.size > 10) break;
        seen.add(current);
        current = d.mergedInto;
      }
      const d = docs.get(current) ?? null;
      out.set(id, { id: current, doc: d && d.status === 'active' ? d : null });
    }
    return out;
  }

  /** Message ids of `pending` already stored as events, looked up only for profiles whose applied-id ring is full. */
  private async storedEventIds(pending: readonly { item: InboundResolved }[], targets: Map<string, { id: string; doc: ProfileDocument | null }>): Promise<Set<string>> {
    const candidates: string[] = [];
    for (const { item } of pending) {
      const target = targets.get((item.payload as ResolvedEvent).profileId);
      const ring = target?.doc?.appliedMessageIds;
      if (ring && ring.length >= this.cfg.maxAppliedIds && !ring.includes(item.messageId)) candidates.push(item.messageId);
    }
    if (candidates.length === 0) return new Set();
    const found = await this.opts.store.writer.findByIds(this.opts.store.events, candidates, { _id: 1 });
    return new Set(found.map((d) => d._id));
  }

  private observePrices(item: InboundResolved): void {
    if (!this.opts.observePrice || item.payload.kind !== 'event') return;
    const ev = item.payload.event;
    if (ev.type !== 'track' || !ev.event || !PRICE_EVENTS.has(ev.event)) return;
    const p = (ev.properties ?? {}) as Record<string, unknown>;
    const price = typeof p['price'] === 'number' ? p['price'] : typeof p['price'] === 'string' ? Number(p['price']) : NaN;
    if (typeof p['category'] === 'string' && Number.isFinite(price) && price > 0) this.opts.observePrice(p['category'], price);
  }

  // ---- merges ---------------------------------------------------------------------------------

  private async merge(item: InboundResolved, notice: MergeNotice, stats: BatchStats): Promise<ChangeOut[]> {
    const { store } = this.opts;
    const now = this.now();
    const nowIso = now.toISOString();
    this.cache.delete(notice.loserId);
    this.cache.delete(notice.survivorId);
    // 1. The loser becomes a redirect (or already is one).
    let loser: ProfileDocument | null = null;
    for (let attempt = 1; ; attempt += 1) {
      if (attempt > this.maxAttempts) throw new Error(`merge ${notice.loserId} → ${notice.survivorId}: the loser kept changing`);
      const current = await store.getProfile(notice.loserId);
      if (current && current.status === 'merged') {
        loser = current;
        break;
      }
      const state = current ? documentToState(current) : emptyProfile(notice.loserId, nowIso);
      const doc = stateToDocument(
        { ...state, version: state.version + 1, updatedAt: nowIso },
        { status: 'merged', mergedInto: notice.survivorId, mergedAt: notice.at, expiresAt: new Date(now.getTime() + this.opts.redirectTtlMs), writeId: store.newWriteId() },
      );
      const r = await store.writeProfiles([{ expected: current ? current.version : null, doc }]);
      if (r.get(notice.loserId) === 'applied') {
        loser = doc;
        break;
      }
      stats.conflicts += 1;
      await jitter(attempt);
    }
    const loserState = documentToState(loser);
    // 2. Where its data goes: the survivor, or where the survivor itself went since.
    if (loser.mergedInto !== notice.survivorId) return []; // merged elsewhere before this notice: that merge folded it
    const out: ChangeOut[] = [];
    for (let attempt = 1; ; attempt += 1) {
      if (attempt > this.maxAttempts) throw new Error(`merge ${notice.loserId} → ${notice.survivorId}: the survivor kept changing`);
      const { doc: target, path } = await store.resolve(notice.survivorId);
      const targetId = target ? target._id : (path[path.length - 1] as string);
      this.cache.delete(targetId);
      if (target && target.status !== 'active') throw new Error(`merge ${notice.loserId} → ${notice.survivorId}: redirect chain does not end at a live profile`);
      // 3. Its events join the survivor's timeline.
      await store.moveEvents(notice.loserId, targetId);
      const base = target ? documentToState(target) : emptyProfile(targetId, nowIso);
      if (alreadyFolded(base, notice.loserId)) {
        stats.duplicates += 1;
        out.push(this.changeOut(base, [], item, true, nowIso, 'merge'));
        break;
      }
      const folded = foldMerge(base, loserState, notice, { config: this.cfg, priceIndex: this.opts.priceIndex?.() });
      const r = await store.writeProfiles([{ expected: target ? target.version : null, doc: this.activeDocument(folded) }]);
      if (r.get(targetId) === 'applied') {
        stats.merges += 1;
        stats.profilesWritten += 1;
        const after = toCompactProfile(folded);
        out.push(this.changeOut(folded, changedPaths(toCompactProfile(base), after), item, false, nowIso, 'merge', after));
        break;
      }
      stats.conflicts += 1;
      await jitter(attempt);
    }
    // The loser's own change: it is a redirect now.
    const loserOut = this.changeOut(loserState, ['mergedInto'], item, false, nowIso, 'merge');
    loserOut.change.mergedInto = notice.survivorId;
    out.unshift(loserOut);
    return out;
  }

  // ---- splits ---------------------------------------------------------------------------------

  private async split(item: InboundResolved, notice: SplitNotice, stats: BatchStats): Promise<ChangeOut[]> {
    const { store } = this.opts;
    const now = this.now();
    const nowIso = now.toISOString();
    const splitKeys = new Set(notice.identifiers.map(identifierKey));
    this.cache.delete(notice.fromProfileId);
    this.cache.delete(notice.newProfileId);
    await store.moveEvents(notice.fromProfileId, notice.newProfileId, [...splitKeys]);
    for (let attempt = 1; ; attempt += 1) {
      if (attempt > this.maxAttempts) throw new Error(`split ${notice.fromProfileId} → ${notice.newProfileId}: the profiles kept changing`);
      const docs = await store.getProfiles([notice.fromProfileId, notice.newProfileId]);
      const fromDoc = docs.get(notice.fromProfileId) ?? null;
      const newDoc = docs.get(notice.newProfileId) ?? null;
      const live = (d: ProfileDocument | null) => (d && d.status === 'active' ? d : null);
      // Applied before (a redelivery or replay): the notice id is in both rings.
      const applied = [fromDoc, newDoc].filter((d): d is ProfileDocument => d !== null && d.appliedMessageIds.includes(item.messageId));
      if (applied.length > 0 && (!live(fromDoc) || applied.includes(fromDoc as ProfileDocument))) {
        stats.duplicates += 1;
        return applied.map((d) => this.changeOut(documentToState(d), [], item, true, nowIso, 'split'));
      }
      const [fromEvents, newEvents] = await Promise.all([store.eventsOf(notice.fromProfileId), store.eventsOf(notice.newProfileId)]);
      const fromIdentifiers = (fromDoc?.identifiers ?? []).filter((i) => !splitKeys.has(identifierKey(i)));
      const newIdentifiers = uniqueIdentifiers([...(newDoc?.identifiers ?? []), ...notice.identifiers]);
      const rebuilt = [
        live(fromDoc) ? this.rebuild(notice.fromProfileId, fromDoc as ProfileDocument, fromEvents, fromIdentifiers, item.messageId, nowIso) : undefined,
        this.rebuild(notice.newProfileId, live(newDoc), newEvents, newIdentifiers, item.messageId, nowIso),
      ].filter((x): x is { state: ProfileState; orig: ProfileDocument | null } => x !== undefined);
      const r = await store.writeProfiles(rebuilt.map((x) => ({ expected: x.orig ? x.orig.version : null, doc: this.activeDocument(x.state) })));
      if (rebuilt.every((x) => r.get(x.state.profileId) === 'applied')) {
        stats.splits += 1;
        stats.profilesWritten += rebuilt.length;
        return rebuilt.map((x) => this.changeOut(x.state, x.orig ? changedPaths(toCompactProfile(documentToState(x.orig)), toCompactProfile(x.state)) : ['identifiers'], item, false, nowIso, 'split'));
      }
      stats.conflicts += 1;
      await jitter(attempt);
    }
  }

  /**
   * A profile recomputed from its stored events, keeping what events do not carry (identifiers,
   * merge history, membership version). Its applied-id ring keeps the ids applied before (events
   * that moved away stay "applied" here, so a replay does not count them twice) plus the notice's.
   */
  private rebuild(profileId: string, orig: ProfileDocument | null, events: EventDocument[], identifiers: Identifier[], noticeId: string, nowIso: string): { state: ProfileState; orig: ProfileDocument | null } {
    const resolved: ResolvedEvent[] = events.map((e) => ({ kind: 'event', profileId, identifiers: e.identifiers, event: JSON.parse(e.json) as ResolvedEvent['event'] }));
    const state = recomputeFromEvents(profileId, resolved, { now: nowIso, config: this.cfg, priceIndex: this.opts.priceIndex?.() });
    state.identifiers = uniqueIdentifiers(identifiers);
    state.appliedMessageIds = pushRing(orig?.appliedMessageIds ?? [], [...state.appliedMessageIds, noticeId], this.cfg.maxAppliedIds);
    if (orig) {
      state.version = orig.version + 1;
      state.createdAt = orig.createdAt;
      state.membershipVersion = orig.membershipVersion;
      state.mergedFrom = orig.mergedFrom;
    } else state.version += 1;
    state.updatedAt = nowIso;
    return { state, orig };
  }

  // ---- documents and messages ------------------------------------------------------------------

  private activeDocument(state: ProfileState): ProfileDocument {
    const known = state.identifiers.some((i) => i.type !== 'anonymousId');
    const last = Date.parse(state.computed.lastSeen ?? state.updatedAt);
    const expiresAt = known ? undefined : new Date((Number.isFinite(last) ? last : this.now().getTime()) + this.opts.anonymousTtlMs);
    return stateToDocument(state, { status: 'active', writeId: this.opts.store.newWriteId(), ...(expiresAt ? { expiresAt } : {}) });
  }

  private eventDocument(resolved: ResolvedEvent, item: InboundResolved): EventDocument {
    const ev = resolved.event;
    const nowIso = this.now().toISOString();
    const t = eventTime(ev, nowIso);
    const received = Date.parse(ev.receivedAt ?? '') || t;
    const identifiers = (resolved.identifiers ?? []).map((i) => ({ type: i.type, value: i.value }));
    return {
      _id: item.messageId,
      profileId: resolved.profileId,
      at: new Date(t),
      receivedAt: new Date(received),
      type: ev.type,
      ...(ev.type === 'track' && ev.event ? { name: ev.event } : {}),
      idKeys: identifiers.map(identifierKey),
      identifiers,
      json: JSON.stringify(ev),
      expiresAt: new Date(t + this.opts.eventRetentionMs),
    };
  }

  private changeOut(state: ProfileState, changed: string[], item: InboundResolved, duplicate: boolean, nowIso: string, kind: 'event' | 'merge' | 'split' = 'event', profile: CompactProfile = toCompactProfile(state)): ChangeOut {
    const trigger: ProfileChange['trigger'] =
      item.payload.kind === 'event'
        ? {
            messageId: item.messageId,
            kind,
            eventType: item.payload.event.type,
            ...(item.payload.event.event ? { event: item.payload.event.event } : {}),
            ...(item.payload.event.properties ? { properties: item.payload.event.properties } : {}),
            ...(item.payload.event.timestamp ? { timestamp: item.payload.event.timestamp } : {}),
          }
        : { messageId: item.messageId, kind };
    const change: ProfileChange = { profileId: state.profileId, version: state.version, changed, profile, trigger, at: nowIso };
    return { key: state.profileId, messageId: `chg:${state.profileId}:${item.messageId}`, correlationId: item.correlationId, change, duplicate };
  }
}

function uniqueIdentifiers(list: readonly Identifier[]): Identifier[] {
  const seen = new Set<string>();
  const out: Identifier[] = [];
  for (const i of list) {
    const k = identifierKey(i);
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ type: i.type, value: i.value });
    }
  }
  return out;
}

/** Jittered back-off between attempts (so two writers of one profile do not collide again in step). */
function jitter(attempt: number): Promise<void> {
  const ms = Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}
