import { Module, type DynamicModule } from '@nestjs/common';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import type { EnrichmentEnv } from './enrichment.config';
import { EnrichmentConsumer } from './enrichment.consumer';
import { EnrichmentService } from './enrichment.service';
import { ProfilesController } from './profiles.controller';

@Module({})
export class EnrichmentModule {
  /** Wiring only: the service (store, applier, jobs, consumer) is created before HTTP listens; consumers start after. */
  static forRoot(platform: Platform, config: CommonConfig & { own: EnrichmentEnv }): DynamicModule {
    return {
      module: EnrichmentModule,
      controllers: [ProfilesController, EnrichmentConsumer],
      providers: [{ provide: EnrichmentService, useFactory: () => EnrichmentService.start(platform, config) }],
      exports: [EnrichmentService],
    };
  }
}
