/**
 * From `segments.membership` to deliveries: each change updates the profile's segments and
 * fires the matching triggers; a delivery's id is derived from (trigger, profile, membership
 * version), so a replayed or redelivered change inserts nothing new — no second webhook, no
 * second email. Frequency caps are checked here: a capped firing is recorded as `skipped`.
 */
import type { SegmentMembershipChange } from '@mosaic/contracts';
import { deliveryId, dueAt, matchTriggers, type Destination, type Experience, type Trigger } from '@mosaic/activation-domain';
import type { DeliveryDocument } from './documents';
import type { ActivationStore } from './stores';

export interface InboundChange {
  change: SegmentMembershipChange;
  partition: number;
  offset: string;
  /** The trace the change arrived in (kept on its deliveries). */
  traceparent?: string;
}

export interface IngestStats {
  changes: number;
  fired: number;
  /** New deliveries to send. */
  inserted: number;
  duplicates: number;
  /** New deliveries recorded as skipped by a frequency cap. */
  capped: number;
}

/** Destinations, triggers and experiences, reloaded from the store on an interval and after changes made here. */
export class ConfigHolder {
  private triggersList: Trigger[] = [];
  private experiencesList: Experience[] = [];
  private destinationsById = new Map<string, Destination>();
  private loading: Promise<void> | undefined;

  constructor(private readonly store: ActivationStore) {}

  triggers(): readonly Trigger[] {
    return this.triggersList;
  }

  destination(id: string): Destination | undefined {
    return this.destinationsById.get(id);
  }

  /** Enabled experiences, by id. */
  experiences(): readonly Experience[] {
    return this.experiencesList;
  }

  reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const [triggers, destinations, experiences] = await Promise.all([
          this.store.triggers.find({ enabled: true }).toArray(),
          this.store.destinations.find({}).toArray(),
          this.store.experiences.find({ enabled: true }).sort({ _id: 1 }).toArray(),
        ]);
        this.experiencesList = experiences.map((e) => JSON.parse(e.json) as Experience);
        this.triggersList = triggers.map((t) => ({
          id: t._id,
          segmentKey: t.segmentKey,
          on: t.on,
          destinationId: t.destinationId,
          ...(t.delaySeconds > 0 ? { delaySeconds: t.delaySeconds } : {}),
          ...(t.frequencyCap ? { frequencyCap: JSON.parse(t.frequencyCap) as Trigger['frequencyCap'] } : {}),
        }));
        this.destinationsById = new Map(destinations.map((d) => [d._id, { ...(JSON.parse(d.config) as Destination), id: d._id, name: d.name, enabled: d.enabled }]));
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}

export class Ingest {
  constructor(
    private readonly store: ActivationStore,
    private readonly config: ConfigHolder,
    private readonly clock: () => number = Date.now,
  ) {}

  async apply(items: readonly InboundChange[]): Promise<IngestStats> {
    const stats: IngestStats = { changes: items.length, fired: 0, inserted: 0, duplicates: 0, capped: 0 };
    const now = this.clock();
    const docs: DeliveryDocument[] = [];
    const firedInBatch = new Map<string, number>(); // trigger|profile -> fired earlier in this batch
    for (const { change, partition, offset, traceparent } of items) {
      await this.store.putMembership(change.profileId, change.segmentKey, change.change === 'entered', change.profileVersion);
      for (const t of matchTriggers(this.config.triggers(), change)) {
        stats.fired += 1;
        const id = deliveryId(t.id, change.profileId, change.profileVersion);
        const due = new Date(dueAt(change.at, t.delaySeconds));
        const base: DeliveryDocument = {
          _id: id,
          partition,
          offset,
          destinationId: t.destinationId,
          triggerId: t.id,
          profileId: change.profileId,
          segmentKey: change.segmentKey,
          change: change.change,
          membership: JSON.stringify(change),
          status: 'pending',
          attempts: 0,
          dueAt: due,
          nextAttemptAt: due,
          log: [],
          createdAt: new Date(now),
          updatedAt: new Date(now),
          ...(traceparent ? { traceparent } : {}),
        };
        if (t.frequencyCap) {
          const k = `${t.id}|${change.profileId}`;
          const earlier = (await this.store.sentSince(t.id, change.profileId, new Date(now - t.frequencyCap.perSeconds * 1000))) + (firedInBatch.get(k) ?? 0);
          if (earlier >= t.frequencyCap.max) {
            docs.push({ ...base, status: 'skipped', skipReason: `frequency cap: ${t.frequencyCap.max} per ${t.frequencyCap.perSeconds} s`, nextAttemptAt: null });
            continue;
          }
          firedInBatch.set(k, (firedInBatch.get(k) ?? 0) + 1);
        }
        docs.push(base);
      }
    }
    const inserted = new Set(await this.store.insertDeliveries(docs));
    stats.capped = docs.filter((d) => d.status === 'skipped' && inserted.has(d._id)).length;
    stats.inserted = inserted.size - stats.capped;
    stats.duplicates = docs.length - inserted.size;
    return stats;
  }
}
