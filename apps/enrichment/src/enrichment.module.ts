import { Module, type DynamicModule } from '@nestjs/common';
import { ApplyResolvedBatch, ReadActivity } from '@mosaic/enrichment-application';
import { ProfileRepository } from '@mosaic/enrichment-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import type { EnrichmentEnv } from './enrichment.config';
import { EnrichmentConsumer } from './enrichment.consumer';
import { EnrichmentService } from './enrichment.service';
import { ProfilesController } from './profiles.controller';

@Module({})
export class EnrichmentModule {
  /** Wiring only: the service (repository, use cases, jobs) is created before HTTP listens; consumers start after. */
  static forRoot(platform: Platform, config: CommonConfig & { own: EnrichmentEnv }): DynamicModule {
    return {
      module: EnrichmentModule,
      controllers: [ProfilesController, EnrichmentConsumer],
      providers: [
        { provide: EnrichmentService, useFactory: () => EnrichmentService.start(platform, config) },
        { provide: ApplyResolvedBatch, useFactory: (s: EnrichmentService) => s.applyResolvedBatch, inject: [EnrichmentService] },
        { provide: ReadActivity, useFactory: (s: EnrichmentService) => s.readActivity, inject: [EnrichmentService] },
        { provide: ProfileRepository, useFactory: (s: EnrichmentService) => s.repository, inject: [EnrichmentService] },
      ],
      exports: [EnrichmentService],
    };
  }
}
