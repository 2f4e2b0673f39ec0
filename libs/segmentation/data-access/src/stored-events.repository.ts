/**
 * Reads the events enrichment stores (`enrichment_events`, documented in docs/enrichment.md:
 * `profileId`, `at`, `type`, `name`, the raw event as JSON text; index `{profileId, at, _id}`)
 * to rebuild event windows when a definition is new or changed. Read-only; the collection name
 * is configuration (`SEGMENTATION_EVENTS_COLLECTION`).
 */
import type { Connection, mongo } from 'mongoose';
import { eventNameOf, type ObservedEvent } from '@mosaic/segmentation-domain';
import { findIn, openDb } from '@mosaic/shared-mongo';

interface StoredEvent {
  _id: string;
  profileId: string;
  at: Date;
  type: string;
  name?: string;
  json: string;
}

export class StoredEventsRepository {
  constructor(
    private readonly conn: Connection,
    readonly collectionName = 'enrichment_events',
    /** One indexed query per profile instead of an `$in` (FerretDB: see `findIn`). */
    private readonly pointReads = false,
  ) {}

  private get events(): mongo.Collection<StoredEvent> {
    return openDb(this.conn).collection<StoredEvent>(this.collectionName);
  }

  /** The events of these profiles since `since`, as segmentation observes them. */
  async forProfiles(profileIds: readonly string[], since: Date): Promise<Map<string, ObservedEvent[]>> {
    const out = new Map<string, ObservedEvent[]>();
    if (profileIds.length === 0) return out;
    const docs = await findIn(this.events, 'profileId', profileIds, {
      pointReads: this.pointReads,
      where: { at: { $gte: since } },
      projection: { profileId: 1, at: 1, type: 1, name: 1, json: 1 },
    });
    for (const d of docs) {
      const e = toObserved(d as StoredEvent);
      if (!e) continue;
      const list = out.get(d.profileId) ?? [];
      list.push(e);
      out.set(d.profileId, list);
    }
    return out;
  }
}

function toObserved(d: StoredEvent): ObservedEvent | undefined {
  const name = eventNameOf({ eventType: d.type, event: d.name });
  if (name === undefined) return undefined;
  let properties: Record<string, unknown> = {};
  try {
    const raw = JSON.parse(d.json) as { properties?: unknown };
    if (raw.properties && typeof raw.properties === 'object' && !Array.isArray(raw.properties)) properties = raw.properties as Record<string, unknown>;
  } catch {
    // an unreadable stored event still counts by name
  }
  return { messageId: d._id, name, at: d.at.getTime(), properties };
}
