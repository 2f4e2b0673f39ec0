/**
 * The collector's ingestion use case, framework-free: de-duplicate accepted events by
 * `sourceId:messageId`, publish the rest through a port, and remember them only once the
 * port confirms they are stored. A request is acknowledged only when this resolves.
 */
import { DedupWindow } from './dedup';
import { dedupKey, type NormalizedEvent } from './message';

/** Port: stores events durably (Kafka, acks from all in-sync replicas) or rejects. */
export interface EventPublisher {
  publish(events: readonly NormalizedEvent[]): Promise<void>;
}

export interface IngestOutcome {
  /** Events handed to the publisher and acknowledged by it. */
  published: number;
  /** Events already acknowledged within the window (or by a concurrent request). */
  duplicates: number;
}

export class Ingestor {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly dedup: DedupWindow,
  ) {}

  async ingest(events: readonly NormalizedEvent[]): Promise<IngestOutcome> {
    const fresh: NormalizedEvent[] = [];
    const freshKeys: string[] = [];
    const waits: Promise<NormalizedEvent | undefined>[] = [];
    let duplicates = 0;
    const seenInRequest = new Set<string>();
    for (const e of events) {
      const key = dedupKey(e);
      if (seenInRequest.has(key)) {
        duplicates++;
        continue;
      }
      seenInRequest.add(key);
      const decision = this.dedup.begin(key);
      if (decision === 'acquired') {
        fresh.push(e);
        freshKeys.push(key);
      } else if (decision === 'duplicate') {
        duplicates++;
      } else {
        // Another request is producing the same message: its outcome decides ours.
        waits.push(this.dedup.whenSettled(key).then((acked) => (acked ? undefined : e)));
      }
    }
    const published = await this.publishAndSettle(fresh, freshKeys);
    const retry = (await Promise.all(waits)).filter((e): e is NormalizedEvent => e !== undefined);
    duplicates += waits.length - retry.length;
    // The concurrent attempt failed: produce these ourselves (they are not remembered yet).
    const again = retry.length ? await this.ingest(retry) : { published: 0, duplicates: 0 };
    return { published: published + again.published, duplicates: duplicates + again.duplicates };
  }

  private async publishAndSettle(events: NormalizedEvent[], keys: string[]): Promise<number> {
    if (events.length === 0) return 0;
    let acked = false;
    try {
      await this.publisher.publish(events);
      acked = true;
      return events.length;
    } finally {
      for (const key of keys) this.dedup.endInFlight(key, { acked });
    }
  }
}
