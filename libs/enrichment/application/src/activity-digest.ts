/**
 * The activity digest beside each profile document (docs/enrichment.md "Activity digest"):
 * appended to as events are applied, merged on a merge, rebuilt from the events on a split.
 * A profile stored before digests existed has none; its first write builds it from its stored
 * events (once), so a stored digest always covers every event of the profile still retained.
 */
import type { ResolvedEvent } from '@mosaic/contracts';
import { type ActivityEntry, activityEntryOf, activityFromText, activityToText, appendActivity, buildActivity, mergeActivity } from '@mosaic/enrichment-domain';
import type { EventDocument, ProfileDocument, ProfileRepository } from '@mosaic/enrichment-data-access';
import type { ApplierCore } from './batch-context';

/** The digest entry of a stored event. */
export function entryOfStoredEvent(e: EventDocument): ActivityEntry {
  return activityEntryOf({ event: JSON.parse(e.json) as ResolvedEvent['event'], identifiers: e.identifiers }, e._id, e.at.toISOString());
}

/** The digest of a profile built from its stored events (the newest `max`). */
export async function activityFromEvents(store: ProfileRepository, profileId: string, max: number): Promise<ActivityEntry[]> {
  return buildActivity((await store.eventsOf(profileId)).map(entryOfStoredEvent), max);
}

/** The digest a document holds; for a profile that has none yet (stored before digests), the one its stored events give. */
export async function currentActivity(core: ApplierCore, doc: ProfileDocument | null): Promise<ActivityEntry[]> {
  if (!doc) return [];
  return activityFromText(doc.activity) ?? (await activityFromEvents(core.store, doc._id, core.cfg.maxActivityEntries));
}

/** The digest text after applying `added` (events applied now, not yet stored) to the profile stored as `orig`. */
export async function appendedActivity(core: ApplierCore, orig: ProfileDocument | null, added: readonly ActivityEntry[]): Promise<string> {
  const max = core.cfg.maxActivityEntries;
  const stored = orig ? activityFromText(orig.activity) : [];
  // Built from the events: those of this segment are not stored yet, and a merge drops any id twice.
  if (!stored) return activityToText(mergeActivity(await currentActivity(core, orig), added, max));
  return activityToText(appendActivity(stored, added, max));
}
