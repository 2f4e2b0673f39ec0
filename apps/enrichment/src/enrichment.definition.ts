import type { ServiceDefinition } from '@mosaic/shared-service';
import { enrichmentEnvSchema } from './enrichment.config';
import { EnrichmentModule } from './enrichment.module';

/** The enrichment service: applies events.resolved to living profiles, produces profiles.changes, serves the profile API. */
export const enrichmentDefinition: ServiceDefinition<typeof enrichmentEnvSchema.shape> = {
  service: 'enrichment',
  configSchema: enrichmentEnvSchema,
  module: (platform, config) => EnrichmentModule.forRoot(platform, config),
  openApi: {
    title: 'Mosaic enrichment',
    description:
      'Profiles: consumes events.resolved (events, merge and split notices), keeps one living profile per person (traits, computed attributes, timeline) and produces profiles.changes keyed by profile id. Profile API (Bearer admin token): profile by id (redirects followed), by identifier, timeline.',
  },
};
