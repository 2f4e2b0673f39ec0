/**
 * From `segments.membership` to deliveries: a batch's changes update their profiles' segments
 * (one bulk write) and each fires the matching triggers; a delivery's id is derived from
 * (trigger, profile, membership version), so a replayed or redelivered change inserts nothing
 * new — no second webhook, no second email. Frequency caps are checked here: a capped firing is
 * recorded as `skipped`.
 */
import { Schemas, decodeMessage, type SegmentMembershipChange } from '@mosaic/contracts';
import { deliveryId, dueAt, matchTriggers, type Trigger } from '@mosaic/activation-domain';
import { messageTraceparent, type InboundMessage } from '@mosaic/shared-kafka';
import type { ActivationProfilesRepository, DeliveriesRepository, DeliveryDocument } from '@mosaic/activation-data-access';

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

export interface IngestMembershipChangesOptions {
  profiles: ActivationProfilesRepository;
  deliveries: DeliveriesRepository;
  /** The enabled triggers as held now (the ConfigCache). */
  triggers: () => readonly Trigger[];
  /** After each batch (metrics; a dispatch round when deliveries were inserted). */
  onIngested?: (stats: IngestStats) => void;
  /** After a batch inserted pending deliveries, with their destinations (EndOrphanDeliveries.afterInsert). */
  afterInsert?: (destinationIds: ReadonlySet<string>) => Promise<unknown>;
  clock?: () => number;
}

/** One batch's deliveries being built: what was fired earlier in the batch counts against frequency caps. */
interface BatchDraft {
  now: number;
  docs: DeliveryDocument[];
  /** trigger|profile -> fired earlier in this batch */
  firedInBatch: Map<string, number>;
  stats: IngestStats;
}

export class IngestMembershipChanges {
  private readonly clock: () => number;

  constructor(private readonly opts: IngestMembershipChangesOptions) {
    this.clock = opts.clock ?? Date.now;
  }

  /** One partition's batch of `segments.membership`. */
  async handle(messages: readonly InboundMessage[]): Promise<IngestStats> {
    const items = messages.map((m) => ({
      change: decodeMessage(Schemas.segmentMembership, m.value).payload as SegmentMembershipChange,
      partition: m.partition,
      offset: m.offset,
      traceparent: messageTraceparent(m),
    }));
    const stats = await this.apply(items);
    this.opts.onIngested?.(stats);
    return stats;
  }

  async apply(items: readonly InboundChange[]): Promise<IngestStats> {
    const draft: BatchDraft = {
      now: this.clock(),
      docs: [],
      firedInBatch: new Map(),
      stats: { changes: items.length, fired: 0, inserted: 0, duplicates: 0, capped: 0 },
    };
    await this.opts.profiles.putMemberships(items.map((i) => i.change));
    for (const item of items) {
      for (const t of matchTriggers(this.opts.triggers(), item.change)) {
        draft.stats.fired += 1;
        draft.docs.push(await this.deliveryOf(t, item, draft));
      }
    }
    const { docs, stats } = draft;
    const inserted = new Set(await this.opts.deliveries.insertNew(docs));
    stats.capped = docs.filter((d) => d.status === 'skipped' && inserted.has(d._id)).length;
    stats.inserted = inserted.size - stats.capped;
    stats.duplicates = docs.length - inserted.size;
    if (stats.inserted > 0)
      await this.opts.afterInsert?.(new Set(docs.filter((d) => d.status === 'pending' && inserted.has(d._id)).map((d) => d.destinationId)));
    return stats;
  }

  /** The delivery of one firing: pending, or skipped when the trigger's frequency cap is reached. */
  private async deliveryOf(t: Trigger, { change, partition, offset, traceparent }: InboundChange, draft: BatchDraft): Promise<DeliveryDocument> {
    const due = new Date(dueAt(change.at, t.delaySeconds));
    const base: DeliveryDocument = {
      _id: deliveryId(t.id, change.profileId, change.profileVersion),
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
      createdAt: new Date(draft.now),
      updatedAt: new Date(draft.now),
      ...(traceparent ? { traceparent } : {}),
    };
    if (!t.frequencyCap) return base;
    const k = `${t.id}|${change.profileId}`;
    const earlier =
      (await this.opts.deliveries.sentSince(t.id, change.profileId, new Date(draft.now - t.frequencyCap.perSeconds * 1000))) + (draft.firedInBatch.get(k) ?? 0);
    if (earlier >= t.frequencyCap.max)
      return { ...base, status: 'skipped', skipReason: `frequency cap: ${t.frequencyCap.max} per ${t.frequencyCap.perSeconds} s`, nextAttemptAt: null };
    draft.firedInBatch.set(k, (draft.firedInBatch.get(k) ?? 0) + 1);
    return base;
  }
}
