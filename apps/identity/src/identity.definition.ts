import type { ServiceDefinition } from '@mosaic/shared-service';
import { identityEnvSchema } from './identity.config';
import { IdentityModule } from './identity.module';

/** The identity service: resolves events.raw into events.resolved (profiles, merges, merge protection) and the identity admin API. */
export const identityDefinition: ServiceDefinition<typeof identityEnvSchema.shape> = {
  service: 'identity',
  configSchema: identityEnvSchema,
  module: (platform, config) => IdentityModule.forRoot(platform, config),
  openApi: {
    title: 'Mosaic identity',
    description:
      'Identity resolution: consumes events.raw, produces events.resolved keyed by profile id (merge notices before the events that caused them). Admin API (Bearer admin token): identifier lookup, profiles with merge history and audit, rules, split.',
  },
};
