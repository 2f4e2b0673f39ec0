/**
 * `GET /v1/profiles/{id}/activity`: a live profile's activity digest, as the API answers it
 * (docs/enrichment.md "Activity digest"). A read never writes: a profile stored before digests
 * existed is answered from its events (slow, as the timeline's full read is) with
 * `stored: false`, until its next event stores one.
 */
import { type ActivityEntry, activityFromText, identifiedSince, isAnonymousEntry } from '@mosaic/enrichment-domain';
import type { ProfileDocument, ProfileRepository } from '@mosaic/enrichment-data-access';
import { activityFromEvents } from './activity-digest';

export interface ActivityView {
  profileId: string;
  /** Entries `[time ms, kind, label, identified 0|1, event id, anonymous 0|1]`, oldest first. */
  entries: [...ActivityEntry, 0 | 1][];
  /** The digest's bound: when `entries` has this many, older events may exist (the timeline has them). */
  max: number;
  /** False: the profile has no stored digest yet, the entries were built from its events for this answer. */
  stored: boolean;
  /** Time of the first entry that identified the visitor (ISO), absent when none did. */
  identifiedSince?: string;
}

export interface ReadActivityOptions {
  store: ProfileRepository;
  maxEntries: number;
  /** Entries older than the event retention are left out (their events are gone). */
  eventRetentionMs: number;
  now?: () => Date;
}

export class ReadActivity {
  constructor(private readonly opts: ReadActivityOptions) {}

  async execute(doc: ProfileDocument): Promise<ActivityView> {
    const stored = activityFromText(doc.activity);
    const digest = stored ?? (await activityFromEvents(this.opts.store, doc._id, this.opts.maxEntries));
    const oldest = (this.opts.now?.() ?? new Date()).getTime() - this.opts.eventRetentionMs;
    const kept = digest.filter((e) => e[0] >= oldest);
    const since = identifiedSince(kept);
    return {
      profileId: doc._id,
      entries: kept.map((e) => [...e, isAnonymousEntry(e, since) ? 1 : 0]),
      max: this.opts.maxEntries,
      stored: stored !== undefined,
      ...(since !== undefined ? { identifiedSince: new Date(since).toISOString() } : {}),
    };
  }
}
