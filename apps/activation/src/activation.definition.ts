import { trustProxySetting } from '@mosaic/shared-config';
import type { ServiceDefinition } from '@mosaic/shared-service';
import { activationEnvSchema } from './activation.config';
import { ActivationModule } from './activation.module';

/** The activation service: destinations, triggers and deliveries, experiences and the decision API. */
export const activationDefinition: ServiceDefinition<typeof activationEnvSchema.shape> = {
  service: 'activation',
  configSchema: activationEnvSchema,
  module: (platform, config) => ActivationModule.forRoot(platform, config),
  openApi: {
    title: 'Mosaic activation',
    description:
      'Acts on segment membership: triggers (on entering or exiting a segment, optional delay and frequency cap) deliver to destinations — webhooks signed per Standard Webhooks with retries, per-destination concurrency and dead letters, a Kafka topic, or email rendered with Liquid (links and open pixel tracked through the collector). Admin API (Bearer admin token). The decision API (`POST /v1/decide`, public: write key or server key, CORS per source, rate limited) answers the content of page slots for a visitor.',
  },
  http: (config) => ({
    // The client address of the per-address rate limit, behind trusted proxies only.
    fastify: { trustProxy: trustProxySetting(config.own.ACTIVATION_TRUST_PROXY) },
    // No app-wide CORS: the decision API answers browsers per source (decide.controller.ts);
    // the admin API is called by servers, not by browsers on other sites.
    // Browsers post decide requests as text/plain (no CORS preflight): the controller parses them.
    configureFastify: (instance) =>
      instance.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body)),
  }),
};
