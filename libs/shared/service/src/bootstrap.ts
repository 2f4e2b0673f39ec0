/**
 * How every Mosaic service starts: typed config (already loaded), JSON logger, metrics
 * registry, a Nest application on Fastify with `/health`, `/ready`, `/metrics` and
 * `/openapi.json`, one error format, and a bounded graceful shutdown on SIGTERM.
 */
import { Global, Module, type DynamicModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Tracing } from '@mosaic/shared-kafka';
import { Histogram, createLogger, createMetricsRegistry, getOrCreate, type Logger, type Registry } from '@mosaic/shared-logging';
import { AdminAuthGuard } from './admin-auth.guard';
import { HealthController } from './health.controller';
import { HttpErrorFilter } from './http-error.filter';
import { NestPinoLogger } from './nest-logger';
import { ReadinessRegistry } from './readiness';
import { MOSAIC_CONFIG, MOSAIC_LOGGER, MOSAIC_METRICS } from './tokens';
import { createTracing, nameServerSpan, tracedServerFactory } from './tracing';

export interface ServiceRuntime {
  config: CommonConfig;
  logger: Logger;
  metrics: Registry;
  readiness: ReadinessRegistry;
  /** OpenTelemetry (off without an OTLP endpoint); shut down last, by the platform. */
  tracing: Tracing;
}

export function createRuntime(config: CommonConfig, logger?: Logger): ServiceRuntime {
  return {
    config,
    logger: logger ?? createLogger({ service: config.service, instanceId: config.instanceId, level: config.logLevel }),
    metrics: createMetricsRegistry({ service: config.service, instance: config.instanceId }),
    readiness: new ReadinessRegistry(),
    tracing: createTracing(config),
  };
}

/** Global module giving every service its config, logger, metrics, readiness and health endpoints. */
@Global()
@Module({})
export class MosaicCoreModule {
  static forRoot(runtime: ServiceRuntime): DynamicModule {
    return {
      module: MosaicCoreModule,
      controllers: [HealthController],
      providers: [
        { provide: MOSAIC_CONFIG, useValue: runtime.config },
        { provide: MOSAIC_LOGGER, useValue: runtime.logger },
        { provide: MOSAIC_METRICS, useValue: runtime.metrics },
        { provide: ReadinessRegistry, useValue: runtime.readiness },
        AdminAuthGuard,
      ],
      exports: [MOSAIC_CONFIG, MOSAIC_LOGGER, MOSAIC_METRICS, ReadinessRegistry, AdminAuthGuard],
    };
  }
}

export interface HttpServiceOptions {
  runtime: ServiceRuntime;
  module: Type<unknown> | DynamicModule;
  openApi: { title: string; description: string; version?: string };
  fastify?: Pick<FastifyServerOptions, 'bodyLimit' | 'trustProxy'>;
  /** Called with the Fastify instance before routes are registered (content-type parsers, hooks). */
  configureFastify?: (instance: FastifyInstance) => void;
  /** Called with the Nest app before listen (CORS...). */
  configureApp?: (app: NestFastifyApplication) => void;
  /** false: Nest registers no JSON/urlencoded parsers (the service installs its own). */
  bodyParser?: boolean;
  /** Listen on this port instead of the configured one (tests pass 0). */
  port?: number;
}

export interface RunningService {
  app: NestFastifyApplication;
  url: string;
  openApi: OpenAPIObject;
  close(): Promise<void>;
}

export async function startHttpService(opts: HttpServiceOptions): Promise<RunningService> {
  const { runtime } = opts;
  const { config, logger } = runtime;
  const { tracing } = runtime;
  const adapter = new FastifyAdapter({ logger: false, ...opts.fastify, ...(tracing.enabled ? { serverFactory: tracedServerFactory(tracing) } : {}) });
  const instance = adapter.getInstance();
  if (tracing.enabled) {
    instance.addHook('onRequest', (req, _reply, done) => {
      nameServerSpan(req.raw, req.method, req.routeOptions.url);
      done();
    });
  }
  opts.configureFastify?.(instance);

  const httpDuration = getOrCreate(
    runtime.metrics,
    'mosaic_http_request_duration_seconds',
    () =>
      new Histogram({
        name: 'mosaic_http_request_duration_seconds',
        help: 'HTTP request duration by route and status',
        labelNames: ['method', 'route', 'status'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [runtime.metrics],
      }),
  );
  instance.addHook('onResponse', (req, reply, done) => {
    httpDuration.observe({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });

  const app = await NestFactory.create<NestFastifyApplication>(opts.module, adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
    bodyParser: opts.bodyParser ?? true,
  });
  app.useGlobalFilters(new HttpErrorFilter(logger));
  opts.configureApp?.(app);

  const doc = new DocumentBuilder()
    .setTitle(opts.openApi.title)
    .setDescription(opts.openApi.description)
    .setVersion(opts.openApi.version ?? '1.0.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'MOSAIC_ADMIN_TOKEN' }, 'admin')
    .addBasicAuth({ type: 'http', scheme: 'basic', description: 'write key as the user name, empty password' }, 'writeKey')
    .build();
  const openApi = SwaggerModule.createDocument(app, doc);
  instance.get('/openapi.json', async () => openApi);

  // Signals are handled by runService (platform.ts): HTTP closes, consumers drain, producer
  // flushes. This timer only bounds that work.
  const force = (): void => {
    setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);

  await app.listen({ port: opts.port ?? config.http.port, host: config.http.host });
  const address = instance.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? config.http.port);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, port }, `${config.service} listening`);
  return {
    app,
    url,
    openApi,
    close: async () => {
      process.removeListener('SIGTERM', force);
      process.removeListener('SIGINT', force);
      await app.close();
    },
  };
}
