import type { ServiceDefinition } from '@mosaic/shared-service';
import { segmentationEnvSchema } from './segmentation.config';
import { SegmentationModule } from './segmentation.module';

/** The segmentation service: segment definitions, real-time evaluation, timers, backfills. */
export const segmentationDefinition: ServiceDefinition<typeof segmentationEnvSchema.shape> = {
  service: 'segmentation',
  configSchema: segmentationEnvSchema,
  module: (platform, config) => SegmentationModule.forRoot(platform, config),
  openApi: {
    title: 'Mosaic segmentation',
    description:
      'Segment definitions as data (JSON, validated with errors naming the JSON path, versioned), evaluated in real time from profiles.changes into segments.membership, with durable timers for time windows and backfills of new or changed definitions. Admin API (Bearer admin token).',
  },
};
