import { Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { KafkaConsumer, type InboundMessage } from '@mosaic/shared-kafka';
import { ActivationService } from './activation.service';

/** The service's Kafka handlers: one partition's batch of `segments.membership` or `profiles.changes` at a time. */
@KafkaConsumer()
export class ActivationConsumer {
  constructor(@Inject(ActivationService) private readonly service: ActivationService) {}

  /** Updates the profiles' segments and fires triggers into deliveries. */
  @EventPattern('segmentsMembership')
  async onMembership(@Payload() messages: InboundMessage[]): Promise<void> {
    await this.service.ingestMemberships.handle(messages);
  }

  /** Keeps the profiles payloads are built from. */
  @EventPattern('profilesChanges')
  onProfileChange(@Payload() messages: InboundMessage[]): Promise<void> {
    return this.service.storeProfileChanges.handle(messages);
  }
}
