import { Schemas, decodeMessage, type ProfileChange, type SegmentMembershipChange } from '@mosaic/contracts';
import { RetryPolicy, TokenBuckets } from '@mosaic/activation-domain';
import { ActivationStore, ConfigHolder, DecisionCache, DecisionFeed, Dispatcher, EmailSender, Ingest, OutboundGuard, SourcesFeed, type DeliveryDocument } from '@mosaic/activation-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import { deadLetterFor, messageTraceparent, produceMessages, type InboundMessage } from '@mosaic/shared-kafka';
import { PeriodicTask, type Platform } from '@mosaic/shared-service';
import type { ActivationEnv } from './activation.config';
import { activationMetrics, type ActivationMetrics } from './activation.metrics';

/**
 * The activation service, assembled: destinations and triggers (admin API), the
 * `segments.membership` consumer that turns changes into deliveries, the `profiles.changes`
 * consumer that keeps the profiles payloads are built from, and the dispatcher of the
 * partitions this instance owns.
 */
export class ActivationService {
  readonly metrics: ActivationMetrics;
  readonly store: ActivationStore;
  readonly config: ConfigHolder;
  readonly ingest: Ingest;
  readonly dispatcher: Dispatcher;
  readonly decisions: DecisionCache;
  /** The sources keys are checked against (`mosaic.sources`). */
  readonly sources: SourcesFeed;
  /** Decision API rate limits, per key and per client address. */
  readonly decideLimits: { perKey: TokenBuckets; perIp: TokenBuckets };
  private readonly feed: DecisionFeed;
  readonly email: EmailSender;
  /** Where webhooks and SMTP may connect (DESIGN §12). */
  readonly outbound: OutboundGuard;
  private readonly tasks: { start(): void; stop(): Promise<void> }[];
  private dispatchPausedUntil = 0;
  private cacheSeen = { hits: 0, misses: 0 };

  private constructor(
    readonly platform: Platform,
    readonly env: CommonConfig & { own: ActivationEnv },
  ) {
    const own = env.own;
    const logger = platform.runtime.logger;
    this.metrics = activationMetrics(platform.runtime.metrics);
    this.store = new ActivationStore(platform.mongo);
    this.config = new ConfigHolder(this.store);
    this.ingest = new Ingest(this.store, this.config);
    this.outbound = new OutboundGuard(own.ACTIVATION_OUTBOUND_ALLOW);
    this.email = new EmailSender({
      outbound: this.outbound,
      collector: { url: own.ACTIVATION_COLLECTOR_URL, adminToken: env.adminToken, ...(own.ACTIVATION_EMAIL_SOURCE_ID ? { sourceId: own.ACTIVATION_EMAIL_SOURCE_ID } : {}) },
      logger,
    });
    this.dispatcher = new Dispatcher({
      store: this.store,
      destination: (id) => this.config.destination(id),
      stillWanted: (d, segments) => {
        const trigger = this.config.triggers().find((t) => t.id === d.triggerId);
        if (!trigger?.delaySeconds) return true;
        return d.change === 'entered' ? segments.includes(d.segmentKey) : !segments.includes(d.segmentKey);
      },
      publishToTopic: async (topic, key, value, headers) => {
        await platform.producer.send(topic, [{ key, value: Buffer.from(value), headers }]);
      },
      sendEmail: this.email.send,
      deadLetter: (d, error) => this.deadLetter(d, error),
      outbound: this.outbound,
      policy: new RetryPolicy({ maxAttempts: own.ACTIVATION_RETRY_MAX_ATTEMPTS, baseMs: own.ACTIVATION_RETRY_BASE_MS, maxMs: Math.max(own.ACTIVATION_RETRY_BASE_MS, own.ACTIVATION_RETRY_MAX_MS) }),
      batch: own.ACTIVATION_DISPATCH_BATCH,
      tracing: platform.runtime.tracing,
      onAttempt: (destination, a) => {
        this.metrics.attempts.inc({ destination, outcome: a.outcome });
        this.metrics.attemptSeconds.observe({ destination }, a.ms / 1000);
      },
    });
    this.decisions = new DecisionCache(this.store, own.ACTIVATION_DECISION_CACHE_ENTRIES);
    this.sources = new SourcesFeed(platform.kafka, platform.topics.sources, env.kafka.consumer.groupId, (err) => logger.warn({ err }, 'sources topic: a record could not be read; skipped'));
    this.decideLimits = {
      perKey: new TokenBuckets({ ratePerSecond: own.ACTIVATION_DECIDE_RATE_PER_KEY, burst: own.ACTIVATION_DECIDE_BURST_PER_KEY ?? Math.ceil(2 * own.ACTIVATION_DECIDE_RATE_PER_KEY), maxKeys: 100_000 }),
      perIp: new TokenBuckets({ ratePerSecond: own.ACTIVATION_DECIDE_RATE_PER_IP, burst: own.ACTIVATION_DECIDE_BURST_PER_IP ?? Math.ceil(2 * own.ACTIVATION_DECIDE_RATE_PER_IP), maxKeys: 200_000 }),
    };
    this.feed = new DecisionFeed(platform.kafka, { profilesChanges: platform.topics.profilesChanges, segmentsMembership: platform.topics.segmentsMembership }, `${env.kafka.consumer.groupId}.decisions`, this.decisions, (err) =>
      logger.warn({ err }, 'decision cache: a record could not be read; skipped'),
    );
    this.tasks = [
      new PeriodicTask({
        intervalMs: 5_000,
        run: async () => {
          const s = this.decisions.stats;
          this.metrics.decisionCache.inc({ result: 'hit' }, s.hits - this.cacheSeen.hits);
          this.metrics.decisionCache.inc({ result: 'miss' }, s.misses - this.cacheSeen.misses);
          this.cacheSeen = { hits: s.hits, misses: s.misses };
          this.metrics.decisionCacheEntries.set(this.decisions.size);
          if (s.feedRecordAt > 0) this.metrics.decisionFeedLag.set(Math.max(0, (Date.now() - s.feedRecordAt) / 1000));
        },
      }),
      new PeriodicTask({ intervalMs: own.ACTIVATION_CONFIG_REFRESH_MS, run: () => this.config.reload(), onError: (err) => logger.warn({ err }, 'reloading destinations and triggers failed; using the ones held') }),
      new PeriodicTask({
        intervalMs: own.ACTIVATION_DISPATCH_INTERVAL_MS,
        run: () => this.dispatchOnce(),
        onError: (err) => logger.warn({ err }, 'dispatch round failed; the next one retries'),
      }),
    ];
  }

  static async start(platform: Platform, env: CommonConfig & { own: ActivationEnv }): Promise<ActivationService> {
    const service = new ActivationService(platform, env);
    await service.store.ensureIndexes();
    await service.config.reload();
    platform.consumers().register({ topic: 'segmentsMembership', handler: service.onMembership });
    platform.consumers().register({ topic: 'profilesChanges', handler: service.onProfileChange });
    for (const t of service.tasks) t.start();
    await service.feed.start();
    await service.sources.start();
    platform.runtime.readiness.add({ name: 'sources-topic', check: async () => ({ ok: service.sources.caughtUp, detail: { sources: service.sources.directory.size } }) });
    platform.onShutdown(async () => {
      await service.sources.stop();
      await service.feed.stop();
      await Promise.all(service.tasks.map((t) => t.stop()));
      await service.dispatcher.drain();
      await service.email.close();
      service.outbound.close();
    });
    platform.runtime.logger.info({ destinations: 'loaded', triggers: service.config.triggers().length, outboundAllow: service.outbound.allow.entries }, 'activation ready');
    return service;
  }

  /** `segments.membership`: update the profile's segments, fire triggers into deliveries. */
  readonly onMembership = async (messages: InboundMessage[]): Promise<void> => {
    const items = messages.map((m) => ({ change: decodeMessage(Schemas.segmentMembership, m.value).payload as SegmentMembershipChange, partition: m.partition, offset: m.offset, traceparent: messageTraceparent(m) }));
    const stats = await this.ingest.apply(items);
    this.metrics.fired.inc({ outcome: 'inserted' }, stats.inserted);
    this.metrics.fired.inc({ outcome: 'capped' }, stats.capped);
    this.metrics.fired.inc({ outcome: 'duplicate' }, stats.duplicates);
    if (stats.inserted > 0) void this.dispatchOnce();
  };

  /** `profiles.changes`: the profile payloads are built from. */
  readonly onProfileChange = async (messages: InboundMessage[]): Promise<void> => {
    const changes = messages.map((m) => decodeMessage(Schemas.profileChange, m.value).payload as ProfileChange);
    await this.store.putProfiles(changes.map((c) => ({ profileId: c.profileId, profile: { traits: c.profile.traits, computed: c.profile.computed, identifiers: c.profile.identifiers }, version: c.version, ...(c.mergedInto ? { mergedInto: c.mergedInto } : {}) })));
  };

  /** Creates a Kafka destination's topic when it does not exist (the broker does not auto-create). */
  async ensureTopic(topic: string): Promise<void> {
    const admin = this.platform.kafka.admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      if (existing.includes(topic)) return;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: this.env.kafka.partitions, replicationFactor: this.env.kafka.replicationFactor }] });
    } finally {
      await admin.disconnect();
    }
  }

  /** One dispatch round over the partitions this instance owns. */
  async dispatchOnce(): Promise<number> {
    // A store that scans for due deliveries (FerretDB) must not spend all its time doing so:
    // the next round waits at least three times as long as the last one's query took.
    if (Date.now() < this.dispatchPausedUntil) return 0;
    const assigned = this.platform.consumers().health().topics.find((t) => t.topicKey === 'segmentsMembership')?.assignedPartitions ?? [];
    const queried = Date.now();
    const started = await this.dispatcher.tick(assigned);
    this.dispatchPausedUntil = Date.now() + 3 * (Date.now() - queried);
    this.metrics.inFlight.set(this.dispatcher.active);
    return started;
  }

  private async deadLetter(d: DeliveryDocument, error: string): Promise<void> {
    this.metrics.dead.inc({ destination: d.destinationId });
    const { payload, meta } = deadLetterFor(
      {
        topic: this.platform.topics.segmentsMembership,
        partition: d.partition,
        offset: d.offset,
        key: `${d.profileId}|${d.segmentKey}`,
        value: Buffer.from(d.membership),
        headers: { deliveryId: d._id, destinationId: d.destinationId, triggerId: d.triggerId },
        correlationId: d._id,
      },
      // One letter per delivery and attempt count: a delivery can be retried by an operator and die again.
      { service: 'activation', error: { name: 'DeliveryFailed', message: error }, attempts: d.attempts, messageId: `dead:${d._id}:${d.attempts}`, key: d._id },
    );
    await produceMessages(this.platform.producer, this.platform.topics.dlqActivation, Schemas.deadLetter, [{ payload, meta }]);
    this.platform.runtime.logger.warn({ deliveryId: d._id, destinationId: d.destinationId, attempts: d.attempts, error }, 'delivery dead-lettered');
  }
}
