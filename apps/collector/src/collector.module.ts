import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DEFAULT_MACHINE_RULES, DedupWindow, EmailActivityMemory, EmailTokenSigner, IngestRateLimits, Ingestor } from '@mosaic/collector-domain';
import {
  IngestMessages,
  IngestRecords,
  ImportEvents,
  PublishSources,
  RateLimitGate,
  RewriteEmail,
  ServeTrackerScript,
  TrackEmailActivity,
} from '@mosaic/collector-application';
import { KafkaBadRecordPublisher, KafkaEventPublisher, SourceChangesFeed, SourcesRepository, WriteKeyCache } from '@mosaic/collector-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import { emailSigningKeys, ingestRateLimits, type CollectorEnv } from './collector.config';
import { collectorMetrics, type CollectorMetrics } from './collector.metrics';
import { CollectorConsumer } from './ingest.consumer';
import { SourcesController } from './sources.controller';
import { TrackingController } from './tracking.controller';
import { TRACKER_DIR, TrackerController } from './tracker.controller';
import { EmailController } from './email.controller';
import { ImportController } from './import.controller';

type CollectorConfig = CommonConfig & { own: CollectorEnv };

/** What several use cases share: one Ingestor (one de-duplication window), one write-key cache. */
interface Shared {
  platform: Platform;
  config: CollectorConfig;
  metrics: CollectorMetrics;
  ingestor: Ingestor;
  writeKeys: WriteKeyCache;
}

@Module({})
export class CollectorModule {
  /** Wiring only: the use cases over the domain's Ingestor, the Kafka adapters and MongoDB. */
  static forRoot(platform: Platform, config: CollectorConfig): DynamicModule {
    const sources = new SourcesRepository(platform.mongo);
    const writeKeys = new WriteKeyCache(sources, config.own.COLLECTOR_WRITE_KEY_CACHE_SECONDS * 1000);
    const dedup = new DedupWindow({
      windowMs: config.own.COLLECTOR_DEDUP_WINDOW_SECONDS * 1000,
      maxEntries: config.own.COLLECTOR_DEDUP_MAX_ENTRIES,
      clock: Date.now,
    });
    const ingestor = new Ingestor(new KafkaEventPublisher(platform.producer, platform.topics.eventsRaw), dedup);
    const shared: Shared = { platform, config, metrics: collectorMetrics(platform.runtime.metrics), ingestor, writeKeys };
    const publishSources = new PublishSources(platform.producer, platform.topics.sources, sources);
    // The consumer host is created before the providers' shutdown hooks, so it stops after them
    // (the sources listener first, then the events.ingest consumer).
    if (config.own.COLLECTOR_KAFKA_INGEST) platform.consumers();
    return {
      module: CollectorModule,
      controllers: [
        TrackingController,
        SourcesController,
        EmailController,
        ImportController,
        TrackerController,
        ...(config.own.COLLECTOR_KAFKA_INGEST ? [CollectorConsumer] : []),
      ],
      providers: [
        { provide: SourcesRepository, useValue: sources },
        { provide: WriteKeyCache, useValue: writeKeys },
        { provide: PublishSources, useValue: publishSources },
        { provide: ServeTrackerScript, useValue: new ServeTrackerScript(TRACKER_DIR) },
        ...ingestionProviders(shared),
        ...emailProviders(shared),
        { provide: 'collector.indexes', useFactory: () => sources.ensureIndexes() },
        { provide: 'collector.sources-topic', useFactory: () => followSources(platform, config, writeKeys, publishSources) },
      ],
    };
  }
}

function ingestionProviders({ platform, config, metrics, ingestor, writeKeys }: Shared): Provider[] {
  const ackTimeoutMs = config.own.COLLECTOR_ACK_TIMEOUT_MS;
  const bad = new KafkaBadRecordPublisher(platform.producer, platform.topics.eventsBad);
  // One set of buckets per instance, shared by the tracking routes and imports.
  const rateLimits = new RateLimitGate(new IngestRateLimits(ingestRateLimits(config.own)), metrics.rateLimited);
  return [
    { provide: IngestMessages, useValue: new IngestMessages(ingestor, writeKeys, metrics.events, ackTimeoutMs, rateLimits) },
    { provide: IngestRecords, useValue: new IngestRecords(writeKeys, ingestor, bad, { records: metrics.ingestRecords, events: metrics.events }) },
    { provide: ImportEvents, useValue: new ImportEvents(ingestor, writeKeys, config.adminToken, ackTimeoutMs, metrics.events, rateLimits) },
  ];
}

function emailProviders({ platform, config, metrics, ingestor, writeKeys }: Shared): Provider[] {
  const logger = platform.runtime.logger;
  const { keys, warning } = emailSigningKeys(config);
  if (warning) logger.warn(warning);
  const signer = new EmailTokenSigner(keys);
  const rules = { ...DEFAULT_MACHINE_RULES, minSecondsAfterIssue: config.own.COLLECTOR_EMAIL_MACHINE_SECONDS };
  const publicUrl = config.own.COLLECTOR_PUBLIC_URL?.replace(/\/+$/, '');
  return [
    { provide: TrackEmailActivity, useValue: new TrackEmailActivity(signer, ingestor, writeKeys, new EmailActivityMemory(), rules, metrics.email, logger) },
    {
      provide: RewriteEmail,
      useValue: new RewriteEmail(signer, writeKeys, { ttlDays: config.own.COLLECTOR_EMAIL_TOKEN_TTL_DAYS, ...(publicUrl ? { publicUrl } : {}) }),
    },
  ];
}

/**
 * `mosaic.sources`: this instance drops cached write keys of a source as soon as any instance
 * changes it, and every source is published once at start-up (in the background, retried).
 */
async function followSources(platform: Platform, config: CommonConfig, writeKeys: WriteKeyCache, publishSources: PublishSources): Promise<void> {
  const listener = new SourceChangesFeed(platform.kafka, platform.topics.sources, config.kafka.consumer.groupId, (id) => writeKeys.invalidateSource(id));
  await listener.start();
  const stopPublishing = publishSources.publishAllInBackground(platform.runtime.logger);
  platform.onShutdown(async () => {
    stopPublishing();
    await listener.stop();
  });
}
