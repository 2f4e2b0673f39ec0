import { Schemas, type RawEvent } from '@mosaic/contracts';
import { partitionKey, type EventPublisher, type NormalizedEvent } from '@mosaic/collector-domain';
import { produceMessages, type MessageSender } from '@mosaic/shared-kafka';

/** Adapter: publishes accepted events to `events.raw`, keyed by anonymousId else userId. */
export class KafkaEventPublisher implements EventPublisher {
  constructor(
    private readonly producer: MessageSender,
    private readonly topic: string,
  ) {}

  async publish(events: readonly NormalizedEvent[]): Promise<void> {
    await produceMessages(
      this.producer,
      this.topic,
      Schemas.rawEvent,
      events.map((e) => ({
        payload: e as RawEvent,
        // The event's messageId is the envelope's; it starts the correlation chain.
        // The domain validated the event (its output is checked against the contract in
        // the collector's tests); consumers validate again on decode.
        meta: { key: partitionKey(e), producer: 'collector', messageId: e.messageId, correlationId: e.messageId, validate: false },
      })),
    );
  }
}
