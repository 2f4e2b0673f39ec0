import { Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { KafkaConsumer, type InboundMessage, type KafkaBatchContext } from '@mosaic/shared-kafka';
import { SegmentationService } from './segmentation.service';

/** The service's Kafka handlers: one partition's batch of `profiles.changes` at a time. */
@KafkaConsumer()
export class SegmentationConsumer {
  constructor(@Inject(SegmentationService) private readonly service: SegmentationService) {}

  @EventPattern('profilesChanges')
  onChanges(@Payload() messages: InboundMessage[], @Ctx() ctx: KafkaBatchContext): Promise<void> {
    return this.service.evaluateChanges.execute(messages, ctx.getBatch());
  }
}
