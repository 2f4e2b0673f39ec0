import { Schemas } from '@mosaic/contracts';
import { toSourceState, type SourceDocument, type SourcesRepository } from '@mosaic/collector-data-access';
import { produceMessages, type MessageSender } from '@mosaic/shared-kafka';
import type { Logger } from '@mosaic/shared-logging';

const updatedAtOf = (d: SourceDocument): number => (d.updatedAt ?? d.createdAt).getTime();

/**
 * Publishes the whole state of sources to the compacted `mosaic.sources` (key: source id).
 * Compaction keeps the last record of a source, so the last one must be the newest: after the
 * broker acknowledged, the document is read again and, if another write changed it meanwhile
 * (another admin call, another instance's start-up publication), published again.
 */
export class PublishSources {
  constructor(
    private readonly producer: MessageSender,
    private readonly topic: string,
    private readonly sources: SourcesRepository,
  ) {}

  /** The state of one source, after a write to it; resolves once Kafka acknowledged. */
  async publish(id: string): Promise<void> {
    let doc = await this.sources.document(id);
    for (let round = 0; doc && round < 5; round++) {
      await this.send([doc]);
      const now = await this.sources.document(id);
      if (!now || updatedAtOf(now) === updatedAtOf(doc)) return;
      doc = now;
    }
  }

  /** Every source (at start-up: databases older than the topic reach it, and a lost publication is repaired). */
  async publishAll(): Promise<number> {
    const docs = await this.sources.documents();
    for (let i = 0; i < docs.length; i += 500) await this.send(docs.slice(i, i + 500));
    const held = new Map(docs.map((d) => [d._id, updatedAtOf(d)]));
    const changed = (await this.sources.documents()).filter((d) => held.get(d._id) !== updatedAtOf(d));
    for (const d of changed) await this.publish(d._id);
    return docs.length;
  }

  /**
   * Every source, in the background at start-up, retried with backoff until it succeeds (the
   * collector takes events even while the broker is slow to answer). Returns the stop function.
   */
  publishAllInBackground(logger: Logger): () => void {
    let stopped = false;
    const attempt = async (n: number): Promise<void> => {
      try {
        logger.info({ sources: await this.publishAll() }, 'sources published to the sources topic');
      } catch (err) {
        if (stopped) return;
        logger.warn({ err, attempt: n }, 'publishing the sources failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 1_000 * 2 ** n)).unref());
        if (!stopped) await attempt(n + 1);
      }
    };
    void attempt(0);
    return () => {
      stopped = true;
    };
  }

  private async send(docs: readonly SourceDocument[]): Promise<void> {
    await produceMessages(
      this.producer,
      this.topic,
      Schemas.sourceState,
      docs.map((d) => {
        const messageId = `source:${d._id}:${updatedAtOf(d)}`;
        return { payload: toSourceState(d), meta: { key: d._id, producer: 'collector', messageId, correlationId: messageId } };
      }),
    );
  }
}
