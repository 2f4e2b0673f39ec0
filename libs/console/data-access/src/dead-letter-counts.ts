/**
 * How many messages each dead-letter topic holds: high − low watermark summed over its
 * partitions (what retention still keeps, not every message ever dead-lettered). Read with the
 * admin client at most once per `maxAgeMs`, and only when someone asks.
 */
import type { Admin, Kafka } from 'kafkajs';
import { HeldAdmin } from '@mosaic/shared-kafka';

export interface DeadLetterCount {
  topic: string;
  /** null: the topic's offsets could not be read (Kafka unreachable, topic missing). */
  count: number | null;
}

/** Short retries: a console page asking every second must not queue reads behind a broker outage. */
const ADMIN_RETRY = { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 };

export class DeadLetterCounts {
  private readonly admin: HeldAdmin;
  private counts: DeadLetterCount[] | undefined;
  private readAt = 0;
  private reading: Promise<DeadLetterCount[]> | undefined;
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: readonly string[],
    private readonly maxAgeMs = 5_000,
    private readonly firstReadWaitMs = 2_000,
  ) {
    this.admin = new HeldAdmin(kafka, { retry: ADMIN_RETRY });
  }

  /**
   * The counts, refreshed in the background when older than `maxAgeMs`. Before the first read
   * finished, waits for it (at most `firstReadWaitMs`, then answers every count unknown).
   */
  async current(nowMs = Date.now()): Promise<DeadLetterCount[]> {
    if (!this.stopped && nowMs - this.readAt >= this.maxAgeMs) this.refresh(nowMs);
    if (this.counts) return this.counts;
    const unknown = this.topics.map((topic) => ({ topic, count: null }));
    if (!this.reading) return unknown;
    const wait = new Promise<DeadLetterCount[]>((resolve) => setTimeout(() => resolve(unknown), this.firstReadWaitMs).unref());
    return Promise.race([this.reading, wait]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.reading?.catch(() => undefined);
    await this.admin.drop();
  }

  private refresh(nowMs: number): void {
    if (this.reading) return;
    this.readAt = nowMs;
    this.reading = this.read().finally(() => (this.reading = undefined));
  }

  private async read(): Promise<DeadLetterCount[]> {
    let admin: Admin;
    try {
      admin = await this.admin.connected();
    } catch {
      return (this.counts = this.topics.map((topic) => ({ topic, count: null })));
    }
    const counts = await Promise.all(this.topics.map((topic) => this.countOf(admin, topic)));
    // A failed read may mean a lost connection: the next read starts a new admin client.
    if (counts.some((c) => c.count === null)) await this.admin.drop();
    return (this.counts = counts);
  }

  private async countOf(admin: Admin, topic: string): Promise<DeadLetterCount> {
    try {
      const partitions = await admin.fetchTopicOffsets(topic);
      const count = partitions.reduce((sum, p) => sum + Math.max(0, Number(p.high) - Number(p.low)), 0);
      return { topic, count };
    } catch {
      return { topic, count: null };
    }
  }
}
