import { Module, type DynamicModule } from '@nestjs/common';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import type { SegmentationEnv } from './segmentation.config';
import { SegmentationConsumer } from './segmentation.consumer';
import { SegmentationService } from './segmentation.service';
import { ClustersController } from './clusters.controller';
import { MembershipsController } from './memberships.controller';
import { ProfileListController } from './profile-list.controller';
import { SegmentsController } from './segments.controller';

@Module({})
export class SegmentationModule {
  /** Wiring only: the service (repositories, use cases, periodic tasks) is created before HTTP listens; consumers start after. */
  static forRoot(platform: Platform, config: CommonConfig & { own: SegmentationEnv }): DynamicModule {
    return {
      module: SegmentationModule,
      controllers: [SegmentsController, MembershipsController, ProfileListController, ClustersController, SegmentationConsumer],
      providers: [{ provide: SegmentationService, useFactory: () => SegmentationService.start(platform, config) }],
      exports: [SegmentationService],
    };
  }
}
