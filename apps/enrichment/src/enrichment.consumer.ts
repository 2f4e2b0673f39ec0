import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { InboundMessage, KafkaBatchContext } from '@mosaic/shared-kafka';
import { EnrichmentService } from './enrichment.service';

/** The service's Kafka handlers: one partition's batch of `events.resolved` at a time. */
@Controller()
export class EnrichmentConsumer {
  constructor(@Inject(EnrichmentService) private readonly service: EnrichmentService) {}

  @EventPattern('eventsResolved')
  onResolved(@Payload() messages: InboundMessage[], @Ctx() ctx: KafkaBatchContext): Promise<void> {
    return this.service.handle(messages, ctx.getBatch());
  }
}
