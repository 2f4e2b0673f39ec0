import { Module, type DynamicModule } from '@nestjs/common';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import { DeliveriesController, DestinationsController, TriggersController } from './admin.controller';
import { DecideController, ExperiencesController } from './decide.controller';
import { ExperiencePreviewController } from './preview.controller';
import type { ActivationEnv } from './activation.config';
import { ActivationConsumer } from './activation.consumer';
import { ActivationService } from './activation.service';

@Module({})
export class ActivationModule {
  /** Wiring only: the service (repositories, use cases, tasks) is created before HTTP listens; consumers start after. */
  static forRoot(platform: Platform, config: CommonConfig & { own: ActivationEnv }): DynamicModule {
    return {
      module: ActivationModule,
      controllers: [
        ActivationConsumer,
        DestinationsController,
        TriggersController,
        DeliveriesController,
        ExperiencePreviewController,
        ExperiencesController,
        DecideController,
      ],
      providers: [{ provide: ActivationService, useFactory: () => ActivationService.start(platform, config) }],
      exports: [ActivationService],
    };
  }
}
