import { Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ResolveEventBatch } from '@mosaic/identity-application';
import { KafkaConsumer, type InboundMessage, type KafkaBatchContext } from '@mosaic/shared-kafka';

/** The service's Kafka handlers: one partition's batch of `events.raw` at a time. */
@KafkaConsumer()
export class IdentityConsumer {
  constructor(@Inject(ResolveEventBatch) private readonly resolveEventBatch: ResolveEventBatch) {}

  @EventPattern('eventsRaw')
  onRaw(@Payload() messages: InboundMessage[], @Ctx() ctx: KafkaBatchContext): Promise<void> {
    return this.resolveEventBatch.execute(messages, ctx.getBatch());
  }
}
