/**
 * Builds the `GraphView` a plan needs, through the reader port, in a few batched rounds:
 * 1. the identity documents of the event's identifiers, then the profiles they point at and
 *    every redirect on the way (`mergedInto`, followed until a live or missing profile);
 *    Also the sources of this message's own moves (`movedBy`) and `extraProfileIds`.
 *    Pointers that disagree with the profile they lead to, or with a profile of the view
 *    that lists them as being acquired, are re-read (reads are not a snapshot; see below).
 * 2. for each live profile reached: the identity documents of its pending claims, the
 *    profiles of its merge intents and of its merge-history entries made by this message
 *    (to re-derive notices), and their redirect chains;
 * 3. if the reader can (`getProcessed`): which messages named by those claims and intents
 *    have completed — their leftovers are dead. Pending claims exist only while plans are in
 *    flight (or after a crash), so this is rarely more than nothing.
 * Committed identifiers of a profile are not fetched: a profile's listing is trusted for
 * them (see graph-view.ts), which keeps the hot path to two small reads.
 */
import { identifierKey } from './identifier';
import { MAX_REDIRECT_HOPS } from './graph-view';
import type { GraphView, IdentifierRecord, ProfileRecord } from './model';
import type { IdentityGraphReader, ProcessedMessageStore } from './ports';

/** How many times the loader re-reads pointers that disagree with their profile. */
export const MAX_VIEW_REVALIDATIONS = 3;

export async function loadResolutionView(
  reader: IdentityGraphReader & Partial<Pick<ProcessedMessageStore, 'getProcessed'>>,
  keys: readonly string[],
  messageId: string,
  /** Profiles an earlier attempt of this message wrote (re-plan after a conflict): analysed and tidied too. */
  extraProfileIds: readonly string[] = [],
): Promise<GraphView> {
  const load = new ResolutionViewLoad(reader, keys, messageId, extraProfileIds);
  await load.readEventPointers();
  await load.revalidate();
  const live = new Map(load.liveProfiles().map((profile) => [profile._id, profile]));
  await load.readRelated(live);
  const completedMessages = await load.completedMessages(live);
  return { identifiers: load.identifiers, profiles: load.profiles, completedMessages };
}

/** One `loadResolutionView`: what has been read so far, and the reads it makes. */
class ResolutionViewLoad {
  readonly identifiers = new Map<string, IdentifierRecord>();
  readonly profiles = new Map<string, ProfileRecord>();
  private readonly requestedKeys = new Set<string>();
  private readonly requestedProfiles = new Set<string>();
  private ownMoveSources: string[] = [];

  constructor(
    private readonly reader: IdentityGraphReader & Partial<Pick<ProcessedMessageStore, 'getProcessed'>>,
    private readonly keys: readonly string[],
    private readonly messageId: string,
    private readonly extraProfileIds: readonly string[],
  ) {}

  /** Round 1: the event's pointers, the profiles they lead to, and those profiles' redirect chains. */
  async readEventPointers(): Promise<void> {
    await this.fetchKeys(this.keys);
    // Also: the sources of this message's own moves (a crash between the pointer write and the
    // source's commit leaves a release entry there), and the profiles of an earlier attempt.
    this.ownMoveSources = [...this.identifiers.values()]
      .filter((r) => r.movedBy === this.messageId && r.movedFrom !== undefined)
      .map((r) => r.movedFrom as string);
    await this.fetchProfiles([...this.pointedProfiles(), ...this.ownMoveSources, ...this.extraProfileIds]);
  }

  // Reads are not one snapshot: a pointer read before a move completed leads to a profile
  // read after it, which no longer lists the identifier, or lists it again only as a new
  // acquisition. A pointer is known to agree with its profile only if the profile lists the
  // identifier as committed (write orders guarantee a committed listing has the pointer
  // here); a release or acquire entry proves nothing (someone may have moved it since, with a
  // leftover entry of another attempt still there). So re-read the pointers of those other
  // identifiers, and their new profiles, until they agree or stop changing: a pointer
  // unchanged across the profile read agrees with it (a move in flight, or a hand-edited
  // graph the planner then repairs). Nothing is re-read in the common case.
  // The same holds the other way round: a live profile of the view acquiring an identifier
  // whose pointer (read before that profile) is absent or leads elsewhere. The acquisition
  // may have completed in between — pointer written, then the acquirer's claim removed, so
  // the listing is left with only dead claims (this message's earlier attempt, a completed
  // message) — and the planner, trusting the stale pointer, would drop the identifier from
  // the profile and let it through a merge over its type's limit. Re-read those pointers too:
  // the re-read comes after the profile read, so it sees every acquisition whose claim had
  // already been cleared from the listing.
  async revalidate(): Promise<void> {
    for (let round = 0; round < MAX_VIEW_REVALIDATIONS; round += 1) {
      const suspicious = this.suspiciousKeys();
      if (suspicious.length === 0) break;
      const before = new Map(suspicious.map((key) => [key, this.identifiers.get(key)?.version]));
      await this.fetchKeys(suspicious, true);
      // Unchanged: the profile was read between two reads of the same pointer, so they agree.
      if (suspicious.every((key) => this.identifiers.get(key)?.version === before.get(key))) break;
      await this.fetchProfiles(
        suspicious.map((key) => this.identifiers.get(key)?.profileId).filter((id): id is string => id !== undefined),
        true,
      );
    }
  }

  /** The event's keys whose pointer may disagree with its profile or with a profile acquiring it (see revalidate). */
  private suspiciousKeys(): string[] {
    const acquiredBy = new Map<string, string[]>();
    for (const profile of this.liveProfiles()) {
      for (const claim of profile.pending) {
        if (claim.kind !== 'acquire') continue;
        const key = identifierKey(claim);
        acquiredBy.set(key, [...(acquiredBy.get(key) ?? []), profile._id]);
      }
    }
    return this.keys.filter((key) => {
      const record = this.identifiers.get(key);
      const owner = record ? this.liveEnd(record.profileId) : undefined;
      if ((acquiredBy.get(key) ?? []).some((id) => id !== owner?._id)) return true;
      if (owner === undefined) return false;
      const listed = owner.identifiers.some((id) => identifierKey(id) === key);
      const acquiring = owner.pending.some((c) => c.kind === 'acquire' && identifierKey(c) === key);
      return !listed || acquiring;
    });
  }

  /** Round 2: the pointers of live profiles' pending claims, the profiles of their merge intents and of this message's merges. */
  async readRelated(live: Map<string, ProfileRecord>): Promise<void> {
    const pendingKeys: string[] = [];
    const related: string[] = [];
    for (const profile of live.values()) {
      for (const claim of profile.pending) pendingKeys.push(identifierKey(claim));
      for (const intent of profile.merging) related.push(intent.profileId);
      for (const entry of profile.mergedFrom) if (entry.messageId === this.messageId) related.push(entry.profileId);
    }
    await this.fetchKeys(pendingKeys);
    await this.fetchProfiles([...related, ...this.pointedProfiles()]);
  }

  /** Round 3: claims and intents of messages that completed are leftovers of crashed attempts. */
  async completedMessages(live: Map<string, ProfileRecord>): Promise<Set<string>> {
    const completed = new Set<string>();
    if (!this.reader.getProcessed) return completed;
    const others = new Set<string>();
    for (const profile of live.values()) {
      for (const claim of profile.pending) others.add(claim.messageId);
      for (const intent of profile.merging) others.add(intent.messageId);
    }
    others.delete(this.messageId);
    const getProcessed = this.reader.getProcessed.bind(this.reader);
    const records = await Promise.all([...others].map(async (id) => [id, await getProcessed(id)] as const));
    for (const [id, record] of records) if (record !== null) completed.add(id);
    return completed;
  }

  /** The live profiles the event's pointers, its own move sources and the extra profiles lead to. */
  liveProfiles(): ProfileRecord[] {
    const found = new Map<string, ProfileRecord>();
    for (const id of [...this.pointedProfiles(), ...this.ownMoveSources, ...this.extraProfileIds]) {
      const profile = this.liveEnd(id);
      if (profile) found.set(profile._id, profile);
    }
    return [...found.values()];
  }

  private pointedProfiles(): string[] {
    return [...this.identifiers.values()].map((r) => r.profileId);
  }

  private liveEnd(id: string): ProfileRecord | undefined {
    let profile = this.profiles.get(id);
    for (let hops = 0; profile && profile.status === 'merged' && hops < MAX_REDIRECT_HOPS; hops += 1) {
      profile = profile.mergedInto === undefined ? undefined : this.profiles.get(profile.mergedInto);
    }
    return profile && profile.status !== 'merged' ? profile : undefined;
  }

  private async fetchKeys(wanted: Iterable<string>, force = false): Promise<void> {
    const missing = [...new Set(wanted)].filter((k) => force || !this.requestedKeys.has(k));
    if (missing.length === 0) return;
    for (const k of missing) {
      this.requestedKeys.add(k);
      this.identifiers.delete(k);
    }
    for (const record of await this.reader.getIdentifiers(missing)) this.identifiers.set(record._id, record);
  }

  private async fetchProfiles(wanted: Iterable<string>, force = false): Promise<void> {
    let frontier = [...new Set(wanted)].filter((id) => force || !this.requestedProfiles.has(id));
    for (let round = 0; frontier.length > 0 && round <= MAX_REDIRECT_HOPS; round += 1) {
      for (const id of frontier) this.requestedProfiles.add(id);
      const found = await this.reader.getProfiles(frontier);
      for (const profile of found) this.profiles.set(profile._id, profile);
      frontier = [...new Set(found.filter((p) => p.status === 'merged' && p.mergedInto !== undefined).map((p) => p.mergedInto as string))].filter(
        (id) => !this.requestedProfiles.has(id),
      );
    }
  }
}

/** The view of one profile for admin operations (split): the profile, its chain, the identity documents of everything it lists or has pending, and the profiles its claims name (`peer`). */
export async function loadProfileView(reader: IdentityGraphReader, profileId: string): Promise<GraphView> {
  const profiles = new Map<string, ProfileRecord>();
  const identifiers = new Map<string, IdentifierRecord>();
  const [profile] = await reader.getProfiles([profileId]);
  if (!profile) return { identifiers, profiles };
  profiles.set(profile._id, profile);
  const keys = [...profile.identifiers.map(identifierKey), ...profile.pending.map(identifierKey)];
  for (const record of await reader.getIdentifiers([...new Set(keys)])) identifiers.set(record._id, record);
  const more = new Set([...identifiers.values()].map((r) => r.profileId).filter((id) => id !== profileId));
  for (const claim of profile.pending) if (claim.peer !== undefined) more.add(claim.peer);
  if (profile.mergedInto) more.add(profile.mergedInto);
  let frontier = [...more];
  for (let round = 0; frontier.length > 0 && round <= MAX_REDIRECT_HOPS; round += 1) {
    const found = await reader.getProfiles(frontier);
    for (const p of found) profiles.set(p._id, p);
    frontier = found.filter((p) => p.status === 'merged' && p.mergedInto !== undefined && !profiles.has(p.mergedInto)).map((p) => p.mergedInto as string);
  }
  return { identifiers, profiles };
}
