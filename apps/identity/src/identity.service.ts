import { randomInt, randomUUID } from 'node:crypto';
import {
  BatchResolver,
  ExpirySweepJob,
  ProfileWritesAnnouncer,
  FindLiveProfile,
  ListProfileAudit,
  LookUpIdentifier,
  ResolveEventBatch,
  SplitProfile,
} from '@mosaic/identity-application';
import { createProfileIdGenerator, identifierKey, type SplitPlan } from '@mosaic/identity-domain';
import { IdentifierCache, MongoIdentityRepository, ProfileCache, ProfileWritesFeed, RulesRepository } from '@mosaic/identity-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Logger } from '@mosaic/shared-logging';
import { casModeRisk, detectServerProfile, type CasMode, type ServerProfile } from '@mosaic/shared-mongo';
import type { Platform } from '@mosaic/shared-service';
import type { IdentityEnv } from './identity.config';
import { identityMetrics, type IdentityMetrics } from './identity.metrics';
import { resolutionObserver } from './resolution.observer';
import { RulesCache } from './rules.cache';

type Config = CommonConfig & { own: IdentityEnv };

/**
 * The identity service, assembled (wiring only): the MongoDB repository (compare-and-set mode
 * detected), the rules, the per-instance caches (profiles kept honest by
 * `identity.profile-writes`) and batch resolver, the use cases the consumer and the admin API
 * call, and the expiry sweep job. Created once per process (`IdentityModule`).
 */
export class IdentityService {
  readonly metrics: IdentityMetrics;
  readonly repository: MongoIdentityRepository;
  readonly rules: RulesCache;
  readonly cache: IdentifierCache;
  readonly profileCache: ProfileCache;
  readonly profileWrites: ProfileWritesFeed;
  readonly resolver: BatchResolver;
  readonly resolveEventBatch: ResolveEventBatch;
  readonly splitProfile: SplitProfile;
  readonly findLiveProfile: FindLiveProfile;
  readonly lookUpIdentifier: LookUpIdentifier;
  readonly listProfileAudit: ListProfileAudit;
  readonly sweepJob: ExpirySweepJob;

  private constructor(
    readonly platform: Platform,
    readonly config: Config,
    readonly server: ServerProfile,
    readonly cas: CasMode,
  ) {
    const own = config.own;
    const logger = platform.runtime.logger;
    const newProfileId = createProfileIdGenerator({ now: Date.now, random: () => randomInt(0, 2 ** 32) / 2 ** 32 });
    this.metrics = identityMetrics(platform.runtime.metrics);
    this.repository = new MongoIdentityRepository(platform.mongo, {
      cas,
      pointReads: server.pointReads,
      ticketLeaseMs: own.IDENTITY_TICKET_LEASE_MS,
      instanceId: config.instanceId,
    });
    this.rules = new RulesCache(new RulesRepository(this.repository), logger, (loaded) => this.metrics.rulesVersion.set(loaded.version));
    this.cache = new IdentifierCache(own.IDENTITY_CACHE_MAX_ENTRIES);
    this.profileCache = new ProfileCache({ maxEntries: own.IDENTITY_PROFILE_CACHE_MAX_ENTRIES, ttlMs: own.IDENTITY_PROFILE_CACHE_TTL_SECONDS * 1000 });
    // Unique per process even when MOSAIC_INSTANCE_ID is shared: a feed skips only its own records.
    const writerId = `${config.instanceId}.${randomUUID()}`;
    this.profileWrites = new ProfileWritesFeed({
      kafka: platform.kafka,
      topic: platform.topics.identityProfileWrites,
      groupPrefix: config.kafka.consumer.groupId,
      instanceId: writerId,
      cache: this.profileCache,
      logger,
    });
    const announcer = new ProfileWritesAnnouncer({ producer: platform.producer, topics: platform.topics, instanceId: writerId });
    this.resolver = new BatchResolver({
      store: this.repository,
      cache: this.cache,
      profileCache: this.profileCache,
      announcer,
      newProfileId,
      maxAttempts: own.IDENTITY_MAX_ATTEMPTS,
      processedTtlMs: own.IDENTITY_PROCESSED_TTL_DAYS * 86_400_000,
    });
    this.resolveEventBatch = new ResolveEventBatch({
      resolver: this.resolver,
      rules: this.rules,
      producer: platform.producer,
      topics: platform.topics,
      observer: resolutionObserver(this.metrics, logger),
      announcer,
    });
    this.splitProfile = new SplitProfile({
      repository: this.repository,
      cache: this.cache,
      profileCache: this.profileCache,
      rules: this.rules,
      producer: platform.producer,
      topics: platform.topics,
      announcer,
      newProfileId,
      maxAttempts: own.IDENTITY_MAX_ATTEMPTS,
      onSplit: (plan, operationId) => this.observeSplit(plan, operationId, logger),
    });
    this.findLiveProfile = new FindLiveProfile(this.repository);
    this.lookUpIdentifier = new LookUpIdentifier(this.repository, this.findLiveProfile);
    this.listProfileAudit = new ListProfileAudit(this.repository);
    this.sweepJob = new ExpirySweepJob({
      repository: this.repository,
      intervalMs: own.IDENTITY_SWEEP_INTERVAL_SECONDS * 1000,
      onSwept: (r, ms) => {
        this.metrics.swept.inc({ what: 'redirects' }, r.redirects);
        this.metrics.swept.inc({ what: 'processed' }, r.processed);
        this.metrics.swept.inc({ what: 'tickets' }, r.tickets);
        if (r.redirects + r.processed + r.tickets > 0) logger.info({ ...r, durationMs: ms }, 'expiry sweep');
      },
      onError: (err) => logger.warn({ err }, 'expiry sweep failed; the next one will try again'),
    });
  }

  /** Connects the repository, loads the rules and starts the periodic work; the `events.raw` consumer (IdentityConsumer) starts once HTTP is up. */
  static async start(platform: Platform, config: Config): Promise<IdentityService> {
    const logger = platform.runtime.logger;
    const server = await detectServerProfile(platform.mongo);
    const mode = config.own.IDENTITY_STORE_CAS === 'auto' ? server.cas : config.own.IDENTITY_STORE_CAS;
    const service = new IdentityService(platform, config, server, mode);
    const risk = casModeRisk(server, mode);
    if (risk) logger.warn({ server: server.version }, `IDENTITY_STORE_CAS=${mode}: ${risk}; concurrent instances can corrupt the graph`);
    await service.repository.ensureIndexes();
    const rules = await service.rules.init();
    logger.info(
      {
        server: server.version,
        cas: mode,
        pointReads: server.pointReads,
        rulesVersion: rules.version,
        rulesSource: rules.source,
        cacheMaxEntries: service.cache.maxEntries,
        profileCacheMaxEntries: service.profileCache.maxEntries,
      },
      'identity store ready',
    );
    service.rules.startPolling(config.own.IDENTITY_RULES_REFRESH_SECONDS * 1000);
    service.sweepJob.start();
    // Not awaited: until it has caught up the profile cache does not serve, which costs reads, not readiness.
    service.profileWrites.start().catch((err: unknown) => logger.error({ err }, 'identity.profile-writes follower did not start; profiles are not cached'));
    // Hooks run in reverse order: the consumer host's (added when the Kafka handlers connect, after this) drains first.
    platform.onShutdown(async () => {
      await service.rules.stop();
      await service.sweepJob.stop();
      await service.profileWrites.stop();
    });
    return service;
  }

  private observeSplit(plan: SplitPlan, operationId: string, logger: Logger): void {
    if (!plan.alreadyApplied) {
      this.metrics.splits.inc();
      this.metrics.created.inc();
    }
    logger.info(
      {
        operationId,
        correlationId: operationId,
        fromProfileId: plan.fromProfileId,
        newProfileId: plan.newProfileId,
        identifiers: plan.identifiers.map(identifierKey),
        alreadyApplied: plan.alreadyApplied,
      },
      'profile split',
    );
  }
}
