import { Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { IngestRecords } from '@mosaic/collector-application';
import { KafkaConsumer, type InboundMessage } from '@mosaic/shared-kafka';

/**
 * The collector's Kafka handlers: one partition's batch of `events.ingest` at a time (listed
 * only when COLLECTOR_KAFKA_INGEST is on). The batch is committed once the accepted events
 * and the bad records are stored.
 */
@KafkaConsumer()
export class CollectorConsumer {
  constructor(@Inject(IngestRecords) private readonly ingestRecords: IngestRecords) {}

  @EventPattern('eventsIngest')
  async onIngest(@Payload() messages: InboundMessage[]): Promise<void> {
    await this.ingestRecords.execute(messages);
  }
}
