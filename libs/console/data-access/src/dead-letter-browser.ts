/**
 * The latest dead letters of each `dlq.<service>` topic, kept in memory by this console
 * instance: its own consumer group reads what the topics retain at start-up and every record
 * after (nothing committed). Only the newest `perTopic` of each topic are kept; a record that is
 * not a dead letter is skipped and counted, never stops the reader.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import { Schemas, decodeMessage } from '@mosaic/contracts';
import { RecentItems, deadLetterId, type DeadLetterEntry } from '@mosaic/console-domain';
import { TopicFollower } from '@mosaic/shared-kafka';
import type { Logger } from '@mosaic/shared-logging';

const RESTART_DELAY_MS = 5_000;

export class DeadLetterBrowser {
  private readonly recent = new Map<string, RecentItems<DeadLetterEntry>>();
  private readonly follower: TopicFollower;
  private restart: NodeJS.Timeout | undefined;
  private stopped = false;
  skipped = 0;

  constructor(
    kafka: Kafka,
    /** The dead-letter topics, with the prefix. */
    readonly topics: readonly string[],
    groupPrefix: string,
    private readonly logger: Logger,
    perTopic = 200,
  ) {
    for (const t of topics) this.recent.set(t, new RecentItems<DeadLetterEntry>(perTopic));
    this.follower = new TopicFollower(kafka, {
      topics,
      groupPrefix: `${groupPrefix}.dead-letters`,
      fromBeginning: true,
      logger,
      onRecord: (topic, message, partition) => this.keep(topic, partition, message),
      onError: (err, topic, message) => this.skip(err, topic, message),
    });
  }

  /** Starts reading in the background: a broker down now delays the list, never the console. */
  start(): void {
    this.follower.start().catch((err: unknown) => {
      if (this.stopped) return;
      this.logger.warn({ err }, 'console: the dead-letter reader could not start; retrying');
      this.restart = setTimeout(() => this.start(), RESTART_DELAY_MS);
      this.restart.unref();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restart);
    await this.follower.stop();
  }

  /** Whether the start-up read has reached the end of every topic (before that, the list may miss older records). */
  get caughtUp(): boolean {
    return this.follower.caughtUp;
  }

  /** Newest first; of one topic, or of all (each topic's newest, merged by failure time). */
  list(topic?: string): DeadLetterEntry[] {
    if (topic !== undefined) return this.recent.get(topic)?.list() ?? [];
    return [...this.recent.values()].flatMap((r) => r.list()).sort((a, b) => b.record.failedAt.localeCompare(a.record.failedAt));
  }

  find(id: string): DeadLetterEntry | undefined {
    return this.list().find((e) => e.id === id);
  }

  private keep(topic: string, partition: number, message: KafkaMessage): void {
    const record = decodeMessage(Schemas.deadLetter, message.value).payload;
    const position = { topic, partition, offset: message.offset };
    this.recent.get(topic)?.push({ ...position, id: deadLetterId(position), record });
  }

  private skip(err: unknown, topic: string, message: KafkaMessage): void {
    this.skipped += 1;
    this.logger.warn({ err, topic, offset: message.offset }, 'console: a record of a dead-letter topic is not a dead letter; skipped');
  }
}
