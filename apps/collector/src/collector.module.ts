import { Module, type DynamicModule } from '@nestjs/common';
import { DedupWindow, Ingestor } from '@mosaic/collector-domain';
import { SourceChangesListener, SourcesRepository, WriteKeyCache } from '@mosaic/collector-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import type { CollectorEnv } from './collector.config';
import { registerIngestConsumer } from './ingest.consumer';
import { IngestRequestHandler } from './ingest.handler';
import { KafkaEventPublisher } from './kafka-publisher';
import { SourcesController } from './sources.controller';
import { SourcesPublisher } from './sources-publisher';
import { TrackingController } from './tracking.controller';
import { TrackerController } from './tracker.controller';
import { EmailController, emailProviders } from './email.controller';
import { ImportController, importProviders } from './import.controller';

@Module({})
export class CollectorModule {
  /** Wiring only: the domain's Ingestor over the Kafka publisher, write keys over MongoDB. */
  static forRoot(platform: Platform, config: CommonConfig & { own: CollectorEnv }): DynamicModule {
    const sources = new SourcesRepository(platform.mongo);
    const writeKeys = new WriteKeyCache(sources, config.own.COLLECTOR_WRITE_KEY_CACHE_SECONDS * 1000);
    const dedup = new DedupWindow({
      windowMs: config.own.COLLECTOR_DEDUP_WINDOW_SECONDS * 1000,
      maxEntries: config.own.COLLECTOR_DEDUP_MAX_ENTRIES,
      clock: Date.now,
    });
    const ingestor = new Ingestor(new KafkaEventPublisher(platform.producer, platform.topics.eventsRaw), dedup);
    const publisher = new SourcesPublisher(platform.producer, platform.topics.sources, sources);
    const handler = new IngestRequestHandler(ingestor, writeKeys, platform.runtime, config.own.COLLECTOR_ACK_TIMEOUT_MS);
    if (config.own.COLLECTOR_KAFKA_INGEST) registerIngestConsumer(platform, ingestor, writeKeys);
    return {
      module: CollectorModule,
      controllers: [TrackingController, SourcesController, EmailController, ImportController, TrackerController],
      providers: [
        { provide: SourcesRepository, useValue: sources },
        { provide: WriteKeyCache, useValue: writeKeys },
        { provide: IngestRequestHandler, useValue: handler },
        { provide: SourcesPublisher, useValue: publisher },
        { provide: 'collector.indexes', useFactory: () => sources.ensureIndexes() },
        { provide: 'collector.sources-topic', useFactory: () => followSources(platform, config, sources, writeKeys, publisher) },
        ...emailProviders({ platform, config, ingestor, writeKeys }),
        ...importProviders({ platform, config, ingestor, writeKeys }),
      ],
    };
  }
}

/**
 * `mosaic.sources`: this instance drops cached write keys of a source as soon as any instance
 * changes it, and every source is published once at start-up (in the background, retried: the
 * collector takes events even while the broker is slow to answer).
 */
async function followSources(platform: Platform, config: CommonConfig, sources: SourcesRepository, writeKeys: WriteKeyCache, publisher: SourcesPublisher): Promise<void> {
  const logger = platform.runtime.logger;
  const listener = new SourceChangesListener(platform.kafka, platform.topics.sources, config.kafka.consumer.groupId, (id) => writeKeys.invalidateSource(id));
  await listener.start();
  let stopped = false;
  const publishAll = async (attempt: number): Promise<void> => {
    try {
      logger.info({ sources: await publisher.publishAll() }, 'sources published to the sources topic');
    } catch (err) {
      if (stopped) return;
      logger.warn({ err, attempt }, 'publishing the sources failed; retrying');
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1_000 * 2 ** attempt)).unref());
      if (!stopped) await publishAll(attempt + 1);
    }
  };
  void publishAll(0);
  platform.onShutdown(async () => {
    stopped = true;
    await listener.stop();
  });
}
