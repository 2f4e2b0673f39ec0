/**
 * The shared start-up of every service: typed config → logger/metrics → MongoDB → Kafka
 * (topics provisioned from the contracts, one idempotent producer) → HTTP with health,
 * readiness, metrics and OpenAPI. Shutdown runs in reverse: HTTP stops taking requests,
 * consumers drain and commit, the producer flushes, connections close.
 */
import { Global, Module, type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import type { MicroserviceOptions } from '@nestjs/microservices';
import type { Kafka } from 'kafkajs';
import type { Connection } from 'mongoose';
import { DLQ_TOPIC_OF, TOPIC_SPECS, topicNames, type ServiceName, type TopicKey } from '@mosaic/contracts';
import { loadConfig, type AppName, type CommonConfig, type z } from '@mosaic/shared-config';
import { ConsumerHost, EventProducer, KafkaBatchTransport, TopicProvisioner, createKafkaClient } from '@mosaic/shared-kafka';
import { connectMongo, monitorStoreCommands, pingMongo } from '@mosaic/shared-mongo';
import { MosaicCoreModule, createRuntime, startHttpService, type HttpServiceOptions, type RunningService, type ServiceRuntime } from './bootstrap';

export const MOSAIC_PLATFORM = Symbol.for('mosaic.platform');

export interface Platform {
  runtime: ServiceRuntime;
  mongo: Connection;
  kafka: Kafka;
  producer: EventProducer;
  topics: Readonly<Record<TopicKey, string>>;
  /**
   * The service's consumer host (created on first use): one consumer per registered topic,
   * commit after the handler, retries then the service's dead-letter topic. Started after
   * HTTP is up; drained first on shutdown; its health is part of /ready.
   */
  consumers(): ConsumerHost;
  /** Starts the consumer host if any topic was registered (startService calls it after HTTP is up). */
  startConsumers(): Promise<void>;
  /** Runs on shutdown, before the producer and connections close (consumers stop here). */
  onShutdown(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

export interface PlatformOptions {
  /** Overrides the database named in the URI (tests). */
  dbName?: string;
  producerAckTimeoutMs?: number;
}

/** A pipeline service (it has a dead-letter topic); the console consumes no topic, so it never gets a consumer host. */
function consumingService(service: AppName): ServiceName {
  if (!Object.hasOwn(DLQ_TOPIC_OF, service)) throw new Error(`${service} consumes no Kafka topic`);
  return service as ServiceName;
}

export async function startPlatform(runtime: ServiceRuntime, opts: PlatformOptions = {}): Promise<Platform> {
  const { config, logger } = runtime;
  const mongo = await connectMongo({ uri: config.mongo.uri, dbName: opts.dbName, appName: `mosaic-${config.service}`, monitorCommands: true }, logger);
  monitorStoreCommands(mongo, runtime.metrics);
  runtime.readiness.add({ name: 'mongodb', check: async () => ({ ok: await pingMongo(mongo) }) });

  const kafka = createKafkaClient(config.kafka, logger);
  if (config.kafka.provisionTopics) {
    await new TopicProvisioner(kafka, config.kafka, logger).ensure(Object.keys(TOPIC_SPECS) as TopicKey[]);
  }
  const producer = new EventProducer(kafka, config.kafka, logger, { registry: runtime.metrics, ackTimeoutMs: opts.producerAckTimeoutMs });
  await producer.connect();
  runtime.readiness.add({ name: 'kafka-producer', check: async () => ({ ok: producer.isReady(), detail: producer.state }) });

  const hooks: (() => Promise<void>)[] = [];
  let closed = false;
  let host: ConsumerHost | undefined;
  const consumers = (): ConsumerHost => {
    if (!host) {
      const created = new ConsumerHost({
        kafka,
        config: config.kafka,
        service: consumingService(config.service),
        producer,
        logger,
        registry: runtime.metrics,
        tracing: runtime.tracing,
      });
      host = created;
      runtime.readiness.add({
        name: 'kafka-consumers',
        check: async () => {
          const h = created.health();
          return { ok: h.ok, detail: h };
        },
      });
      hooks.push(() => created.stop());
    }
    return host;
  };
  return {
    consumers,
    startConsumers: async () => {
      if (host && host.registeredTopics().length > 0) await host.start();
    },
    runtime,
    mongo,
    kafka,
    producer,
    topics: topicNames(config.kafka.topicPrefix),
    onShutdown: (fn) => hooks.push(fn),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const fn of hooks.reverse()) {
        try {
          await fn();
        } catch (err) {
          logger.error({ err }, 'shutdown hook failed');
        }
      }
      await producer.disconnect().catch((err: unknown) => logger.error({ err }, 'producer disconnect failed'));
      await mongo.close().catch((err: unknown) => logger.error({ err }, 'mongodb close failed'));
      // Last: the spans of the drain above are exported too.
      await runtime.tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'exporting the last spans failed'));
      logger.info('stopped');
    },
  };
}

@Global()
@Module({})
class PlatformModule {
  static forRoot(platform: Platform): DynamicModule {
    return {
      module: PlatformModule,
      providers: [{ provide: MOSAIC_PLATFORM, useValue: platform }],
      exports: [MOSAIC_PLATFORM],
    };
  }
}

export interface ServiceDefinition<E extends z.ZodRawShape> {
  service: AppName;
  /** The service's own environment variables (validated with the common ones). */
  configSchema?: z.ZodObject<E>;
  /** Builds the service's feature module once the platform is up. */
  module: (platform: Platform, config: CommonConfig & { own: z.infer<z.ZodObject<E>> }) => Type<unknown> | DynamicModule;
  openApi: HttpServiceOptions['openApi'];
  http?:
    | Pick<HttpServiceOptions, 'fastify' | 'configureFastify' | 'configureApp' | 'bodyParser'>
    | ((config: CommonConfig & { own: z.infer<z.ZodObject<E>> }) => Pick<HttpServiceOptions, 'fastify' | 'configureFastify' | 'configureApp' | 'bodyParser'>);
  platform?: PlatformOptions | ((config: CommonConfig & { own: z.infer<z.ZodObject<E>> }) => PlatformOptions);
}

export interface StartedService {
  platform: Platform;
  http: RunningService;
  stop(): Promise<void>;
}

/** Starts a service in this process. `env` and `port` let tests start several side by side. */
export async function startService<E extends z.ZodRawShape>(
  def: ServiceDefinition<E>,
  overrides: { env?: Record<string, string | undefined>; port?: number; dbName?: string } = {},
): Promise<StartedService> {
  const config = loadConfig(def.service, def.configSchema, overrides.env);
  const runtime = createRuntime(config);
  const platformOpts = typeof def.platform === 'function' ? def.platform(config) : (def.platform ?? {});
  const platform = await startPlatform(runtime, { ...platformOpts, dbName: overrides.dbName ?? platformOpts.dbName });
  const feature = def.module(platform, config);
  @Module({})
  class ServiceRootModule {}
  const root: DynamicModule = {
    module: ServiceRootModule,
    imports: [MosaicCoreModule.forRoot(runtime), PlatformModule.forRoot(platform), feature],
  };
  let http: RunningService;
  try {
    const httpOpts = typeof def.http === 'function' ? def.http(config) : def.http;
    http = await startHttpService({ runtime, module: root, openApi: def.openApi, port: overrides.port, ...httpOpts });
    await startKafkaHandlers(http.app, platform);
    await platform.startConsumers();
  } catch (err) {
    await platform.close();
    throw err;
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await http.close();
    await platform.close();
  };
  return { platform, http, stop };
}

/**
 * Kafka handlers are Nest controllers: `@EventPattern('<topicKey>')` methods of a class marked
 * `@KafkaConsumer()`, served by the KafkaBatchTransport over the platform's ConsumerHost (whole
 * partition batches, committed after the handler resolves; errors go back to the host: retries,
 * then the dead-letter topic).
 * The platform stops the host on shutdown (after HTTP closes), so the transport does not.
 */
async function startKafkaHandlers(app: INestApplication, platform: Platform): Promise<void> {
  const transport = new KafkaBatchTransport(() => platform.consumers(), { logger: platform.runtime.logger, stopHostOnClose: false });
  app.connectMicroservice<MicroserviceOptions>({ strategy: transport });
  await app.startAllMicroservices();
}

/** `main.ts` of every service: start, and stop gracefully on SIGTERM/SIGINT. */
export function runService<E extends z.ZodRawShape>(def: ServiceDefinition<E>): void {
  startService(def).then(
    (svc) => {
      const handler = (signal: NodeJS.Signals): void => {
        svc.platform.runtime.logger.info({ signal }, 'shutting down: draining');
        svc.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            svc.platform.runtime.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', handler);
      process.once('SIGINT', handler);
    },
    (err: unknown) => {
      // Config errors and unreachable infrastructure at boot: say why, exit non-zero.
      process.stderr.write(`${JSON.stringify({ level: 'fatal', service: def.service, msg: 'failed to start', err: String((err as Error)?.stack ?? err) })}\n`);
      process.exit(1);
    },
  );
}
