/**
 * A delivery that died (permanent failure, or out of attempts) goes to the activation dead-letter
 * topic as the membership change it came from, named by the delivery and its attempt count.
 */
import { DEAD_DELIVERY_ID_HEADER, Schemas } from '@mosaic/contracts';
import { deadLetterFor, produceMessages, type MessageSender } from '@mosaic/shared-kafka';
import type { DeliveryDocument } from '@mosaic/activation-data-access';

export interface DeadLetterDeliveryOptions {
  producer: MessageSender;
  topics: { segmentsMembership: string; dlqActivation: string };
  logger: { warn(obj: object, msg: string): void };
  /** Called for each delivery dead-lettered, once its letter is produced (metrics). */
  onDead?: (d: DeliveryDocument) => void;
}

export class DeadLetterDelivery {
  constructor(private readonly opts: DeadLetterDeliveryOptions) {}

  /** The dispatcher's `deadLetter`. */
  readonly handle = async (d: DeliveryDocument, error: string): Promise<void> => {
    const { payload, meta } = deadLetterFor(
      {
        topic: this.opts.topics.segmentsMembership,
        partition: d.partition,
        offset: d.offset,
        key: `${d.profileId}|${d.segmentKey}`,
        value: Buffer.from(d.membership),
        headers: { [DEAD_DELIVERY_ID_HEADER]: d._id, destinationId: d.destinationId, triggerId: d.triggerId },
        correlationId: d._id,
      },
      // One letter per delivery and attempt count: a delivery can be retried by an operator and die again.
      { service: 'activation', error: { name: 'DeliveryFailed', message: error }, attempts: d.attempts, messageId: `dead:${d._id}:${d.attempts}`, key: d._id },
    );
    await produceMessages(this.opts.producer, this.opts.topics.dlqActivation, Schemas.deadLetter, [{ payload, meta }]);
    this.opts.onDead?.(d); // not before: a letter Kafka refused is produced again later, and would count twice
    this.opts.logger.warn({ deliveryId: d._id, destinationId: d.destinationId, attempts: d.attempts, error }, 'delivery dead-lettered');
  };
}
