import { Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ApplyResolvedBatch } from '@mosaic/enrichment-application';
import { KafkaConsumer, type InboundMessage, type KafkaBatchContext } from '@mosaic/shared-kafka';

/** The service's Kafka handlers: one partition's batch of `events.resolved` at a time. */
@KafkaConsumer()
export class EnrichmentConsumer {
  constructor(@Inject(ApplyResolvedBatch) private readonly applyResolvedBatch: ApplyResolvedBatch) {}

  @EventPattern('eventsResolved')
  onResolved(@Payload() messages: InboundMessage[], @Ctx() ctx: KafkaBatchContext): Promise<void> {
    return this.applyResolvedBatch.execute(messages, ctx.getBatch());
  }
}
