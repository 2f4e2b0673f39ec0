import type { ServiceDefinition } from '@mosaic/shared-service';
import { segmentationEnvSchema } from './segmentation.config';
import { SegmentationModule } from './segmentation.module';

/** The segmentation service (issue 6, in progress): segment definitions and their admin API. */
export const segmentationDefinition: ServiceDefinition<typeof segmentationEnvSchema.shape> = {
  service: 'segmentation',
  configSchema: segmentationEnvSchema,
  module: (platform, config) => SegmentationModule.forRoot(platform, config),
  openApi: {
    title: 'Mosaic segmentation',
    description:
      'Segment definitions as data (JSON, validated with errors naming the JSON path, versioned). Admin API (Bearer admin token). Evaluation of profiles.changes into segments.membership is being built (issue 6) and does not run yet.',
  },
};
