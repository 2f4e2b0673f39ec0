import { DecisionMemo, RetryPolicy } from '@mosaic/activation-domain';
import { TokenBuckets } from '@mosaic/shared-rate-limit';
import {
  ActivationProfilesRepository,
  ConfigCache,
  DecisionCache,
  DecisionFeed,
  DeliveriesRepository,
  DestinationTopics,
  DestinationsRepository,
  ExperiencesRepository,
  OutboundGuard,
  SourcesFeed,
  TriggersRepository,
  ensureActivationIndexes,
  type VisitorProfile,
} from '@mosaic/activation-data-access';
import {
  DeadLetterDelivery,
  DispatchDeliveries,
  EndOrphanDeliveries,
  IngestMembershipChanges,
  SendEmail,
  StoreProfileChanges,
} from '@mosaic/activation-application';
import type { CommonConfig } from '@mosaic/shared-config';
import { PeriodicTask, type Platform } from '@mosaic/shared-service';
import { detectServerProfile, type ServerProfile } from '@mosaic/shared-mongo';
import type { ActivationEnv } from './activation.config';
import { activationMetrics, type ActivationMetrics } from './activation.metrics';

type Config = CommonConfig & { own: ActivationEnv };

/**
 * The activation service, wired: the repositories and caches, the use cases the consumer
 * (`segments.membership`, `profiles.changes`) and the controllers call, the dispatcher of the
 * partitions this instance owns, the decision cache and its feed, the sources feed.
 */
export class ActivationService {
  readonly metrics: ActivationMetrics;
  readonly profiles: ActivationProfilesRepository;
  readonly deliveries: DeliveriesRepository;
  readonly destinations: DestinationsRepository;
  readonly triggers: TriggersRepository;
  readonly experiences: ExperiencesRepository;
  readonly config: ConfigCache;
  /** Ends pending deliveries inserted for destinations deleted meanwhile (see EndOrphanDeliveries). */
  private readonly orphanDeliveries: EndOrphanDeliveries;
  readonly destinationTopics: DestinationTopics;
  readonly ingestMemberships: IngestMembershipChanges;
  readonly storeProfileChanges: StoreProfileChanges;
  readonly dispatcher: DispatchDeliveries;
  readonly decisions: DecisionCache;
  /** The decisions of cached profiles, kept until the profile or the experiences change. */
  readonly decisionMemo = new DecisionMemo<VisitorProfile>();
  /** The sources keys are checked against (`mosaic.sources`). */
  readonly sources: SourcesFeed;
  /** Decision API rate limits, per key and per client address. */
  readonly decideLimits: { perKey: TokenBuckets; perIp: TokenBuckets };
  readonly email: SendEmail;
  /** Where webhooks and SMTP may connect (DESIGN §12). */
  readonly outbound: OutboundGuard;
  private readonly feed: DecisionFeed;
  private readonly tasks: { start(): void; stop(): Promise<void> }[];
  private cacheSeen = { hits: 0, misses: 0 };

  private constructor(
    readonly platform: Platform,
    readonly env: Config,
    readonly server: ServerProfile,
  ) {
    const own = env.own;
    const logger = platform.runtime.logger;
    this.metrics = activationMetrics(platform.runtime.metrics);
    this.profiles = new ActivationProfilesRepository(platform.mongo, server.pointReads);
    this.deliveries = new DeliveriesRepository(platform.mongo, own.ACTIVATION_DELIVERY_RETENTION_DAYS * 86_400_000, { cas: server.cas });
    this.destinations = new DestinationsRepository(platform.mongo);
    this.triggers = new TriggersRepository(platform.mongo);
    this.experiences = new ExperiencesRepository(platform.mongo);
    this.config = new ConfigCache({ destinations: this.destinations, triggers: this.triggers, experiences: this.experiences });
    this.orphanDeliveries = new EndOrphanDeliveries({
      skipPendingOf: (id, reason) => this.deliveries.skipPendingOf(id, reason),
      destinationIds: () => this.config.destinations().map((d) => d.id),
    });
    this.destinationTopics = new DestinationTopics(platform.kafka, {
      partitions: env.kafka.partitions,
      replicationFactor: env.kafka.replicationFactor,
      ownTopics: Object.values(platform.topics),
    });
    this.outbound = new OutboundGuard(own.ACTIVATION_OUTBOUND_ALLOW);
    this.email = new SendEmail({
      outbound: this.outbound,
      collector: {
        url: own.ACTIVATION_COLLECTOR_URL,
        adminToken: env.adminToken,
        ...(own.ACTIVATION_EMAIL_SOURCE_ID ? { sourceId: own.ACTIVATION_EMAIL_SOURCE_ID } : {}),
      },
      logger,
    });
    this.dispatcher = this.createDispatcher();
    this.ingestMemberships = new IngestMembershipChanges({
      profiles: this.profiles,
      deliveries: this.deliveries,
      triggers: () => this.config.triggers(),
      afterInsert: async (destinationIds) => {
        const ended = await this.orphanDeliveries.afterInsert(destinationIds);
        if (ended > 0) logger.info({ ended }, 'deliveries inserted for a destination deleted meanwhile ended (skipped)');
      },
      onIngested: (stats) => {
        this.metrics.fired.inc({ outcome: 'inserted' }, stats.inserted);
        this.metrics.fired.inc({ outcome: 'capped' }, stats.capped);
        this.metrics.fired.inc({ outcome: 'duplicate' }, stats.duplicates);
        if (stats.inserted > 0) this.dispatchSoon();
      },
    });
    this.storeProfileChanges = new StoreProfileChanges(this.profiles);
    this.decisions = new DecisionCache(this.profiles, own.ACTIVATION_DECISION_CACHE_ENTRIES);
    this.sources = new SourcesFeed(platform.kafka, platform.topics.sources, env.kafka.consumer.groupId, (err) =>
      logger.warn({ err }, 'sources topic: a record could not be read; skipped'),
    );
    this.decideLimits = {
      perKey: new TokenBuckets({
        ratePerSecond: own.ACTIVATION_DECIDE_RATE_PER_KEY,
        burst: own.ACTIVATION_DECIDE_BURST_PER_KEY ?? Math.ceil(2 * own.ACTIVATION_DECIDE_RATE_PER_KEY),
        maxKeys: 100_000,
      }),
      perIp: new TokenBuckets({
        ratePerSecond: own.ACTIVATION_DECIDE_RATE_PER_IP,
        burst: own.ACTIVATION_DECIDE_BURST_PER_IP ?? Math.ceil(2 * own.ACTIVATION_DECIDE_RATE_PER_IP),
        maxKeys: 200_000,
      }),
    };
    this.feed = new DecisionFeed(
      platform.kafka,
      { profilesChanges: platform.topics.profilesChanges, segmentsMembership: platform.topics.segmentsMembership },
      `${env.kafka.consumer.groupId}.decisions`,
      this.decisions,
      (err) => logger.warn({ err }, 'decision cache: a record could not be read; skipped'),
    );
    this.tasks = this.createTasks();
  }

  /** The repositories, use cases and tasks, started; the consumer (activation.consumer.ts) is connected after. */
  static async start(platform: Platform, env: Config): Promise<ActivationService> {
    const service = new ActivationService(platform, env, await detectServerProfile(platform.mongo));
    await ensureActivationIndexes(platform.mongo);
    if (service.server.ttlIndexes) await service.deliveries.ensureTtlIndex();
    const moved = await service.profiles.moveLegacyMemberships();
    if (moved > 0) platform.runtime.logger.info({ moved }, 'segments of profiles written by an older version moved to activation_memberships');
    await service.config.reload();
    await service.orphanDeliveries.afterConfigLoad();
    for (const t of service.tasks) t.start();
    await service.feed.start();
    await service.sources.start();
    platform.runtime.readiness.add({
      name: 'sources-topic',
      check: async () => ({ ok: service.sources.caughtUp, detail: { sources: service.sources.directory.size } }),
    });
    platform.onShutdown(async () => {
      await service.sources.stop();
      await service.feed.stop();
      await Promise.all(service.tasks.map((t) => t.stop()));
      await service.dispatcher.drain();
      await service.email.close();
      service.outbound.close();
    });
    platform.runtime.logger.info(
      { destinations: 'loaded', triggers: service.config.triggers().length, outboundAllow: service.outbound.allow.entries },
      'activation ready',
    );
    return service;
  }

  /** One dispatch round over the `segments.membership` partitions this instance owns. */
  async dispatchOnce(): Promise<number> {
    const assigned =
      this.platform
        .consumers()
        .health()
        .topics.find((t) => t.topicKey === 'segmentsMembership')?.assignedPartitions ?? [];
    const started = await this.dispatcher.round(assigned);
    this.metrics.inFlight.set(this.dispatcher.active);
    return started;
  }

  /**
   * A dispatch round now, not at the next tick, for callers that do not wait for it (new or
   * replayed deliveries). Its failure (the store or Kafka unavailable) is logged: unhandled, the
   * rejection would exit Node. The next periodic round retries.
   */
  dispatchSoon(): void {
    this.dispatchOnce().catch((err: unknown) => this.platform.runtime.logger.warn({ err }, 'early dispatch round failed; the periodic round retries'));
  }

  private createDispatcher(): DispatchDeliveries {
    const { platform, env } = this;
    const own = env.own;
    const deadLetter = new DeadLetterDelivery({
      producer: platform.producer,
      topics: { segmentsMembership: platform.topics.segmentsMembership, dlqActivation: platform.topics.dlqActivation },
      logger: platform.runtime.logger,
      onDead: (d) => this.metrics.dead.inc({ destination: d.destinationId }),
    });
    return new DispatchDeliveries({
      deliveries: this.deliveries,
      profiles: this.profiles,
      config: this.config,
      publishToTopic: async (topic, key, value, headers) => {
        // destinations stored before Mosaic's own topics were refused at creation
        const reserved = this.destinationTopics.problem(topic);
        if (reserved !== undefined) throw new Error(`not produced: ${reserved}`);
        await platform.producer.send(topic, [{ key, value: Buffer.from(value), headers }]);
      },
      sendEmail: this.email.send,
      deadLetter: deadLetter.handle,
      outbound: this.outbound,
      policy: new RetryPolicy({
        maxAttempts: own.ACTIVATION_RETRY_MAX_ATTEMPTS,
        baseMs: own.ACTIVATION_RETRY_BASE_MS,
        maxMs: Math.max(own.ACTIVATION_RETRY_BASE_MS, own.ACTIVATION_RETRY_MAX_MS),
      }),
      batch: own.ACTIVATION_DISPATCH_BATCH,
      instanceId: env.instanceId,
      leaseMs: own.ACTIVATION_DELIVERY_LEASE_SECONDS * 1000,
      tracing: platform.runtime.tracing,
      onAttempt: (destination, a) => {
        this.metrics.attempts.inc({ destination, outcome: a.outcome });
        this.metrics.attemptSeconds.observe({ destination }, a.ms / 1000);
      },
    });
  }

  private createTasks(): { start(): void; stop(): Promise<void> }[] {
    const own = this.env.own;
    const logger = this.platform.runtime.logger;
    return [
      new PeriodicTask({ intervalMs: 5_000, run: async () => this.observeDecisionCache() }),
      new PeriodicTask({
        intervalMs: own.ACTIVATION_CONFIG_REFRESH_MS,
        run: async () => {
          await this.config.reload();
          const ended = await this.orphanDeliveries.afterConfigLoad();
          if (ended > 0) logger.info({ ended }, 'pending deliveries of deleted destinations ended (skipped)');
        },
        onError: (err) =>
          logger.warn({ err }, 'reloading destinations and triggers, or ending the deliveries of deleted ones, failed; the next round tries again'),
      }),
      new PeriodicTask({
        intervalMs: own.ACTIVATION_SWEEP_INTERVAL_SECONDS * 1000,
        run: () => this.deliveries.sweepExpired(),
        onDone: (deleted, ms) => {
          this.metrics.deliveriesExpired.inc(deleted);
          if (deleted > 0) logger.info({ deleted, durationMs: ms }, 'finished deliveries past their retention deleted');
        },
        onError: (err) => logger.warn({ err }, 'delivery retention sweep failed; the next one will try again'),
      }),
      new PeriodicTask({
        intervalMs: own.ACTIVATION_DISPATCH_INTERVAL_MS,
        run: () => this.dispatchOnce(),
        onError: (err) => logger.warn({ err }, 'dispatch round failed; the next one retries'),
      }),
    ];
  }

  private observeDecisionCache(): void {
    const s = this.decisions.stats;
    this.metrics.decisionCache.inc({ result: 'hit' }, s.hits - this.cacheSeen.hits);
    this.metrics.decisionCache.inc({ result: 'miss' }, s.misses - this.cacheSeen.misses);
    this.cacheSeen = { hits: s.hits, misses: s.misses };
    this.metrics.decisionCacheEntries.set(this.decisions.size);
    if (s.feedRecordAt > 0) this.metrics.decisionFeedLag.set(Math.max(0, (Date.now() - s.feedRecordAt) / 1000));
  }
}
