import type { ServiceDefinition } from '@mosaic/shared-service';
import { MAX_BATCH_BYTES } from '@mosaic/collector-domain';
import { trustProxySetting } from '@mosaic/shared-config';
import { collectorEnvSchema } from './collector.config';
import { CollectorModule } from './collector.module';
import { configureCollectorFastify } from './http';

/** The collector: the public Segment-compatible ingestion API and the sources admin API. */
export const collectorDefinition: ServiceDefinition<typeof collectorEnvSchema.shape> = {
  service: 'collector',
  configSchema: collectorEnvSchema,
  module: (platform, config) => CollectorModule.forRoot(platform, config),
  platform: (config) => ({ producerAckTimeoutMs: config.own.COLLECTOR_ACK_TIMEOUT_MS }),
  openApi: {
    title: 'Mosaic collector',
    description:
      'Segment-compatible ingestion (write key as HTTP Basic user name or `writeKey` in the body) and the sources admin API (Bearer admin token). Every answer 200 means Kafka acknowledged the events.',
  },
  http: (config) => ({
    fastify: { bodyLimit: MAX_BATCH_BYTES, trustProxy: trustProxySetting(config.own.COLLECTOR_TRUST_PROXY) },
    // Raw bodies for every content type; the domain parses them (see http.ts).
    bodyParser: false,
    configureFastify: configureCollectorFastify,
    configureApp: (app) => {
      // Browsers post from any site that carries the tracker; write keys are public by design.
      if (config.own.COLLECTOR_CORS) {
        app.enableCors({
          origin: true,
          methods: ['GET', 'POST', 'OPTIONS'],
          allowedHeaders: ['Content-Type', 'Authorization', 'Content-Encoding'],
          maxAge: 86_400,
        });
      }
    },
  }),
};
