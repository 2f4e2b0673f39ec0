import {
  ApplyResolvedBatch,
  BatchApplier,
  ExpirySweepJob,
  PriceIndexSyncJob,
  PublishProfileChanges,
  ReadActivity,
  RfmJob,
} from '@mosaic/enrichment-application';
import { PriceIndexCache, ProfileRepository } from '@mosaic/enrichment-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import { casModeRisk, detectServerProfile, type CasMode, type ServerProfile } from '@mosaic/shared-mongo';
import type { Platform } from '@mosaic/shared-service';
import type { EnrichmentEnv } from './enrichment.config';
import { enrichmentMetrics, type EnrichmentMetrics } from './enrichment.metrics';

const DAY_MS = 86_400_000;

type Config = CommonConfig & { own: EnrichmentEnv };

/**
 * The enrichment service, wired: the profile repository (compare-and-set mode detected), the
 * price index cache, the use cases and the periodic jobs. Created once per process
 * (`EnrichmentModule`), which hands its use cases and repository to the consumer and controllers.
 */
export class EnrichmentService {
  readonly metrics: EnrichmentMetrics;
  readonly repository: ProfileRepository;
  readonly prices = new PriceIndexCache();
  readonly applier: BatchApplier;
  readonly publishChanges: PublishProfileChanges;
  readonly applyResolvedBatch: ApplyResolvedBatch;
  readonly rfm: RfmJob;
  readonly sweep: ExpirySweepJob;
  readonly priceSync: PriceIndexSyncJob;
  readonly readActivity: ReadActivity;

  private constructor(platform: Platform, config: Config, server: ServerProfile, cas: CasMode) {
    const own = config.own;
    const logger = platform.runtime.logger;
    const metrics = (this.metrics = enrichmentMetrics(platform.runtime.metrics));
    const repository = (this.repository = new ProfileRepository(platform.mongo, {
      cas,
      pointReads: server.pointReads,
      ticketLeaseMs: own.ENRICHMENT_TICKET_LEASE_MS,
      instanceId: config.instanceId,
    }));
    this.applier = new BatchApplier({
      store: repository,
      config: {
        sessionGapMinutes: own.ENRICHMENT_SESSION_GAP_MINUTES,
        affinityHalfLifeDays: own.ENRICHMENT_AFFINITY_HALF_LIFE_DAYS,
        maxActivityEntries: own.ENRICHMENT_ACTIVITY_MAX_ENTRIES,
      },
      anonymousTtlMs: own.ENRICHMENT_ANONYMOUS_TTL_DAYS * DAY_MS,
      redirectTtlMs: own.ENRICHMENT_REDIRECT_TTL_DAYS * DAY_MS,
      eventRetentionMs: own.ENRICHMENT_EVENT_RETENTION_DAYS * DAY_MS,
      maxAttempts: own.ENRICHMENT_MAX_ATTEMPTS,
      cacheMaxEntries: own.ENRICHMENT_CACHE_MAX_ENTRIES,
      segmentEvents: own.ENRICHMENT_SEGMENT_EVENTS,
      maxClockSkewMs: own.ENRICHMENT_MAX_CLOCK_SKEW_MS,
      priceIndex: () => this.prices.current(),
      observePrice: (category, price) => this.prices.observe(category, price),
    });
    this.readActivity = new ReadActivity({
      store: repository,
      maxEntries: own.ENRICHMENT_ACTIVITY_MAX_ENTRIES,
      eventRetentionMs: own.ENRICHMENT_EVENT_RETENTION_DAYS * DAY_MS,
    });
    this.publishChanges = new PublishProfileChanges({ producer: platform.producer, topic: platform.topics.profilesChanges, metrics });
    this.applyResolvedBatch = new ApplyResolvedBatch({ applier: this.applier, publish: this.publishChanges, metrics, logger });
    this.rfm = new RfmJob({
      repository,
      holder: config.instanceId,
      leaseMs: Math.max(60_000, own.ENRICHMENT_RFM_INTERVAL_SECONDS * 500),
      onChange: (change) => this.publishChanges.executeOne(change),
      schedule: { intervalMs: own.ENRICHMENT_RFM_INTERVAL_SECONDS * 1000, logger, metrics },
    });
    this.sweep = new ExpirySweepJob({ repository, schedule: { intervalMs: own.ENRICHMENT_SWEEP_INTERVAL_SECONDS * 1000, logger, metrics } });
    this.priceSync = new PriceIndexSyncJob({
      repository,
      cache: this.prices,
      schedule: { intervalMs: own.ENRICHMENT_PRICE_INDEX_SYNC_SECONDS * 1000, logger, metrics },
    });
  }

  /** Connects everything and starts the jobs (the platform starts the consumer once HTTP is up). */
  static async start(platform: Platform, config: Config): Promise<EnrichmentService> {
    const logger = platform.runtime.logger;
    const server = await detectServerProfile(platform.mongo);
    const mode = config.own.ENRICHMENT_STORE_CAS === 'auto' ? server.cas : config.own.ENRICHMENT_STORE_CAS;
    const service = new EnrichmentService(platform, config, server, mode);
    const risk = casModeRisk(server, mode);
    if (risk) logger.warn({ server: server.version }, `ENRICHMENT_STORE_CAS=${mode}: ${risk}`);
    await service.repository.ensureIndexes(server.ttlIndexes);
    await service.priceSync.runOnce();
    logger.info({ server: server.version, cas: mode, pointReads: server.pointReads, ttlIndexes: server.ttlIndexes }, 'profile store ready');
    const jobs = [service.sweep, service.rfm, service.priceSync];
    for (const job of jobs) job.start();
    // Hooks run in reverse order, after the consumers (registered first) have drained.
    platform.onShutdown(async () => {
      await Promise.all(jobs.map((job) => job.stop()));
      await service.priceSync.runOnce().catch(() => undefined);
    });
    return service;
  }
}
