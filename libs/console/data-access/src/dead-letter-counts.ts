/**
 * How many messages each dead-letter topic holds: high − low watermark summed over its
 * partitions (what retention still keeps, not every message ever dead-lettered). Read with the
 * admin client at most once per `maxAgeMs`, and only when someone asks.
 */
import type { Admin, Kafka } from 'kafkajs';

export interface DeadLetterCount {
  topic: string;
  /** null: the topic's offsets could not be read (Kafka unreachable, topic missing). */
  count: number | null;
}

/** Short retries: a console page asking every second must not queue reads behind a broker outage. */
const ADMIN_RETRY = { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 };

export class DeadLetterCounts {
  private admin: Admin | undefined;
  private counts: DeadLetterCount[] | undefined;
  private readAt = 0;
  private reading: Promise<DeadLetterCount[]> | undefined;
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: readonly string[],
    private readonly maxAgeMs = 5_000,
    private readonly firstReadWaitMs = 2_000,
  ) {}

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
    await this.dropAdmin();
  }

  private refresh(nowMs: number): void {
    if (this.reading) return;
    this.readAt = nowMs;
    this.reading = this.read().finally(() => (this.reading = undefined));
  }

  private async read(): Promise<DeadLetterCount[]> {
    let admin: Admin;
    try {
      admin = await this.connectedAdmin();
    } catch {
      await this.dropAdmin();
      return (this.counts = this.topics.map((topic) => ({ topic, count: null })));
    }
    const counts = await Promise.all(this.topics.map((topic) => this.countOf(admin, topic)));
    // A failed read may mean a lost connection: the next read starts a new admin client.
    if (counts.some((c) => c.count === null)) await this.dropAdmin();
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

  private async connectedAdmin(): Promise<Admin> {
    if (this.admin) return this.admin;
    const admin = this.kafka.admin({ retry: ADMIN_RETRY });
    this.admin = admin;
    await admin.connect();
    return admin;
  }

  private async dropAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }
}
