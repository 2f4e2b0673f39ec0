import type { ServiceDefinition } from '@mosaic/shared-service';
import { activationEnvSchema } from './activation.config';
import { ActivationModule } from './activation.module';

/** The activation service: destinations, triggers and deliveries (issue 7: the decision API is not built yet). */
export const activationDefinition: ServiceDefinition<typeof activationEnvSchema.shape> = {
  service: 'activation',
  configSchema: activationEnvSchema,
  module: (platform, config) => ActivationModule.forRoot(platform, config),
  openApi: {
    title: 'Mosaic activation',
    description:
      'Acts on segment membership: triggers (on entering or exiting a segment, optional delay and frequency cap) deliver to destinations — webhooks signed per Standard Webhooks with retries, per-destination concurrency and dead letters, a Kafka topic, or email rendered with Liquid (links and open pixel tracked through the collector). Admin API (Bearer admin token). The decision API is not built yet (issue 7).',
  },
  // The decision API will be called from browsers on any site (the tracker's decide()): answers,
  // 404s included, carry CORS headers so the tracker can fall back to default content.
  http: {
    configureApp: (app) => app.enableCors({ origin: true, methods: ['GET', 'POST', 'OPTIONS'], allowedHeaders: ['Content-Type', 'Authorization'], maxAge: 86_400 }),
    // Browsers post decide requests as text/plain (no CORS preflight): the controller parses them.
    configureFastify: (instance) => instance.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body)),
  },
};
