import { Schemas } from '@mosaic/contracts';
import { toSourceState, type SourceDocument, type SourcesRepository } from '@mosaic/collector-data-access';
import { produceMessages, type MessageSender } from '@mosaic/shared-kafka';

const updatedAtOf = (d: SourceDocument): number => (d.updatedAt ?? d.createdAt).getTime();

/**
 * Publishes the whole state of sources to the compacted `mosaic.sources` (key: source id).
 * Compaction keeps the last record of a source, so the last one must be the newest: after the
 * broker acknowledged, the document is read again and, if another write changed it meanwhile
 * (another admin call, another instance's start-up publication), published again.
 */
export class SourcesPublisher {
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
