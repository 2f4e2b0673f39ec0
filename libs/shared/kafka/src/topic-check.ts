/** The producer's check that a topic exists before it queues messages for it. */
import type { Kafka } from 'kafkajs';
import { ProducerUnavailableError, UnknownTopicError } from './errors';
import { HeldAdmin } from './held-admin';

export class TopicChecker {
  private readonly admin: HeldAdmin;
  private readonly knownTopics = new Set<string>();
  private readonly topicChecks = new Map<string, Promise<void>>();

  constructor(kafka: Kafka) {
    this.admin = new HeldAdmin(kafka, { retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } });
  }

  /** The topic passed a check already. */
  isKnown(topic: string): boolean {
    return this.knownTopics.has(topic);
  }

  /**
   * Verifies once per topic that it exists: kafkajs retries a produce to a missing topic forever
   * (the idempotent producer has unlimited retries), which would stall every batch it is part of.
   */
  check(topic: string): Promise<void> {
    let check = this.topicChecks.get(topic);
    if (!check) {
      check = (async () => {
        try {
          const admin = await this.admin.connected();
          const meta = await admin.fetchTopicMetadata({ topics: [topic] });
          if (!meta.topics.some((t) => t.name === topic && t.partitions.length > 0)) throw new UnknownTopicError(topic);
        } catch (err) {
          const type = (err as { type?: string }).type;
          if (err instanceof UnknownTopicError || type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new UnknownTopicError(topic);
          void this.admin.drop();
          throw new ProducerUnavailableError(`cannot read metadata of ${topic}`, { cause: err });
        }
        this.knownTopics.add(topic);
      })().finally(() => this.topicChecks.delete(topic));
      this.topicChecks.set(topic, check);
    }
    return check;
  }

  async disconnect(): Promise<void> {
    // A check under way would connect the admin again after an earlier disconnect; its retries are short.
    await Promise.allSettled([...this.topicChecks.values()]);
    await this.admin.drop();
  }
}
