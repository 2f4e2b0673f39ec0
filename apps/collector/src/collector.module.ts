import { Module, type DynamicModule } from '@nestjs/common';
import { DedupWindow, Ingestor } from '@mosaic/collector-domain';
import { SourcesRepository, WriteKeyCache } from '@mosaic/collector-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import type { CollectorEnv } from './collector.config';
import { IngestRequestHandler } from './ingest.handler';
import { KafkaEventPublisher } from './kafka-publisher';
import { SourcesController } from './sources.controller';
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
    const handler = new IngestRequestHandler(ingestor, writeKeys, platform.runtime, config.own.COLLECTOR_ACK_TIMEOUT_MS);
    return {
      module: CollectorModule,
      controllers: [TrackingController, SourcesController, EmailController, ImportController, TrackerController],
      providers: [
        { provide: SourcesRepository, useValue: sources },
        { provide: WriteKeyCache, useValue: writeKeys },
        { provide: IngestRequestHandler, useValue: handler },
        { provide: 'collector.indexes', useFactory: () => sources.ensureIndexes() },
        ...emailProviders({ platform, config, ingestor, sources }),
        ...importProviders({ platform, config, ingestor, sources, writeKeys }),
      ],
    };
  }
}
