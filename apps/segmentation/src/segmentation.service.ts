import { Schemas, decodeMessage, type ProfileChange, type SegmentMembershipChange } from '@mosaic/contracts';
import {
  BackfillRunner,
  ClusteringJob,
  PlanHolder,
  SegmentDefinitionsRepository,
  SegmentEvaluator,
  SegmentProfilesStore,
  StoredEventsReader,
  type OutboxEntry,
} from '@mosaic/segmentation-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import { produceMessages, type BatchContext, type InboundMessage } from '@mosaic/shared-kafka';
import { detectServerProfile, type ServerProfile } from '@mosaic/shared-mongo';
import { PeriodicTask, type Platform } from '@mosaic/shared-service';
import type { SegmentationEnv } from './segmentation.config';
import { segmentationMetrics, type SegmentationMetrics } from './segmentation.metrics';

/**
 * The segmentation service, assembled: segment definitions and their admin API, the
 * `profiles.changes` consumer that evaluates memberships and produces `segments.membership`,
 * the timer loop of the partitions this instance owns, and backfills.
 */
export class SegmentationService {
  readonly metrics: SegmentationMetrics;
  readonly plans: PlanHolder;
  readonly profiles: SegmentProfilesStore;
  readonly evaluator: SegmentEvaluator;
  readonly backfills: BackfillRunner;
  readonly clustering: ClusteringJob;
  private membershipPartitions = 1;
  private cacheSeen = { hits: 0, misses: 0 };
  private timersPausedUntil = 0;
  private readonly tasks: { start(): void; stop(): Promise<void> }[];

  private constructor(
    readonly platform: Platform,
    readonly config: CommonConfig & { own: SegmentationEnv },
    readonly server: ServerProfile,
    readonly definitions: SegmentDefinitionsRepository,
  ) {
    const own = config.own;
    const logger = platform.runtime.logger;
    const cas = own.SEGMENTATION_STORE_CAS === 'auto' ? server.cas : own.SEGMENTATION_STORE_CAS;
    this.metrics = segmentationMetrics(platform.runtime.metrics);
    this.plans = new PlanHolder(definitions);
    this.profiles = new SegmentProfilesStore(platform.mongo, { cas, instanceId: config.instanceId, pointReads: server.pointReads, cacheMaxEntries: own.SEGMENTATION_CACHE_MAX_ENTRIES });
    this.evaluator = new SegmentEvaluator({
      store: this.profiles,
      events: new StoredEventsReader(platform.mongo, own.SEGMENTATION_EVENTS_COLLECTION),
      publish: (entries, partitionOf) => this.publish(entries, partitionOf),
      plan: () => this.plans.current(),
      maxAttempts: own.SEGMENTATION_MAX_ATTEMPTS,
    });
    this.backfills = new BackfillRunner({
      conn: platform.mongo,
      store: this.profiles,
      evaluator: this.evaluator,
      ensurePlan: (key, version) => this.plans.ensure(key, version),
      instanceId: config.instanceId,
      pageSize: own.SEGMENTATION_BACKFILL_PAGE,
      rate: own.SEGMENTATION_BACKFILL_RATE,
      onPage: (key, page) => {
        this.metrics.backfilled.inc(page.processed);
        this.metrics.evaluations.inc({ source: 'backfill' }, page.processed);
        logger.debug({ segment: key, ...page }, 'backfill page');
      },
    });
    this.clustering = new ClusteringJob({ conn: platform.mongo, store: this.profiles, evaluator: this.evaluator, definitions, plans: this.plans, instanceId: config.instanceId, k: own.SEGMENTATION_CLUSTER_K });
    this.tasks = [
      new PeriodicTask({
        intervalMs: own.SEGMENTATION_CLUSTER_INTERVAL_SECONDS * 1000,
        run: () => this.clustering.runOnce(),
        onDone: (r, ms) => {
          if (r.ran) logger.info({ profiles: r.profiles, changed: r.changed, published: r.published, iterations: r.iterations, clusters: r.clusters, durationMs: ms }, 'clustering run');
        },
        onError: (err) => logger.warn({ err }, 'clustering run failed; the next interval retries'),
      }),
      new PeriodicTask({
        intervalMs: own.SEGMENTATION_DEFINITIONS_REFRESH_MS,
        run: () => this.plans.reload(),
        onDone: () => this.metrics.activeSegments.set(this.plans.current().segments.length),
        onError: (err) => logger.warn({ err }, 'reloading segment definitions failed; evaluating with the ones held'),
      }),
      new PeriodicTask({ intervalMs: own.SEGMENTATION_TIMER_INTERVAL_MS, run: () => this.fireTimers(), onError: (err) => logger.warn({ err }, 'timer round failed; the next one retries') }),
      new PeriodicTask({ intervalMs: 2000, run: () => this.backfills.tick(), onError: (err) => logger.warn({ err }, 'backfill round failed; the next one resumes') }),
    ];
  }

  static async start(platform: Platform, config: CommonConfig & { own: SegmentationEnv }): Promise<SegmentationService> {
    const server = await detectServerProfile(platform.mongo);
    const cas = config.own.SEGMENTATION_STORE_CAS === 'auto' ? server.cas : config.own.SEGMENTATION_STORE_CAS;
    const definitions = new SegmentDefinitionsRepository(platform.mongo, { cas, instanceId: config.instanceId });
    const service = new SegmentationService(platform, config, server, definitions);
    await definitions.ensureIndexes();
    await service.profiles.ensureIndexes();
    await service.backfills.ensureIndexes();
    await service.plans.reload();
    service.metrics.activeSegments.set(service.plans.current().segments.length);
    service.membershipPartitions = await service.partitionCount(platform.topics.segmentsMembership);
    platform.runtime.logger.info({ server: server.version, cas, segments: service.plans.current().segments.length, skipped: service.plans.skipped() }, 'segmentation ready');
    platform.consumers().register({ topic: 'profilesChanges', handler: service.handle });
    for (const t of service.tasks) t.start();
    platform.onShutdown(async () => {
      await service.backfills.stop();
      await Promise.all(service.tasks.map((t) => t.stop()));
    });
    return service;
  }

  private async partitionCount(topic: string): Promise<number> {
    const admin = this.platform.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return Math.max(1, topics[0]?.partitions.length ?? 1);
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * The `profiles.changes` batch handler (one partition, in order): decode (an off-contract
   * message throws before anything is written: the host retries one by one and dead-letters
   * it) → evaluate → write → publish → resolve (the host commits after).
   */
  readonly handle = async (messages: InboundMessage[], ctx: BatchContext): Promise<void> => {
    const started = process.hrtime.bigint();
    const items = messages.map((m) => ({ change: decodeMessage(Schemas.profileChange, m.value).payload as ProfileChange, partition: m.partition }));
    // In rounds, heartbeating between them: a long batch on a slow store must not outlive the session.
    const size = this.config.own.SEGMENTATION_SEGMENT_CHANGES;
    const stats = { conflicts: 0 };
    for (let i = 0; i < items.length; i += size) {
      const r = await this.evaluator.applyChanges(items.slice(i, i + size));
      stats.conflicts += r.conflicts;
      this.metrics.changes.inc({ outcome: 'applied' }, r.changes - r.duplicates);
      this.metrics.changes.inc({ outcome: 'duplicate' }, r.duplicates);
      this.metrics.evaluations.inc({ source: 'change' }, r.evaluatedProfiles);
      this.metrics.conflicts.inc(r.conflicts);
      this.metrics.cache.inc({ result: 'hit' }, this.profiles.cacheHits - this.cacheSeen.hits);
      this.metrics.cache.inc({ result: 'miss' }, this.profiles.cacheMisses - this.cacheSeen.misses);
      this.cacheSeen = { hits: this.profiles.cacheHits, misses: this.profiles.cacheMisses };
      await ctx.heartbeat();
    }
    this.metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (stats.conflicts > 0) {
      const last = messages[messages.length - 1] as InboundMessage;
      this.platform.runtime.logger.info({ topic: last.topic, partition: last.partition, offset: last.offset, messages: messages.length, conflicts: stats.conflicts }, 'batch evaluated with conflicts');
    }
  };

  /** One timer round over the partitions this instance owns (repeats while full rounds come back). */
  async fireTimers(): Promise<number> {
    // A store that scans for due timers (FerretDB) must not spend all its time doing so: the
    // next round waits at least four times as long as the last query took.
    if (Date.now() < this.timersPausedUntil) return 0;
    const assigned = this.platform.consumers().health().topics.find((t) => t.topicKey === 'profilesChanges')?.assignedPartitions ?? [];
    let fired = 0;
    for (let round = 0; round < 50; round += 1) {
      const r = await this.evaluator.fireDue(assigned, this.config.own.SEGMENTATION_TIMER_BATCH);
      this.timersPausedUntil = Date.now() + 4 * r.queryMs;
      fired += r.fired;
      this.metrics.timersFired.inc(r.fired);
      this.metrics.evaluations.inc({ source: 'timer' }, r.fired);
      for (const ms of r.lateness) this.metrics.timerLateness.observe(ms / 1000);
      if (r.due < this.config.own.SEGMENTATION_TIMER_BATCH) break;
    }
    return fired;
  }

  /** Publishes membership changes: keyed `<profileId>|<segmentKey>` (compaction), partitioned by profile. */
  private async publish(entries: readonly OutboxEntry[], partitionOf: (profileId: string) => number): Promise<void> {
    await produceMessages(
      this.platform.producer,
      this.platform.topics.segmentsMembership,
      Schemas.segmentMembership,
      entries.map((e) => {
        const payload: SegmentMembershipChange = {
          profileId: e.profileId,
          segmentKey: e.segmentKey,
          segmentVersion: e.segmentVersion,
          change: e.change,
          at: e.at,
          reason: e.reason,
          identifiers: e.identifiers,
          profileVersion: e.profileVersion,
        };
        return {
          payload,
          meta: {
            key: `${e.profileId}|${e.segmentKey}`,
            partition: partitionOf(e.profileId) % this.membershipPartitions,
            producer: 'segmentation',
            correlationId: e.reason.messageId ?? `${e.reason.kind}:${e.profileId}`,
            messageId: `mem:${e.profileId}:${e.profileVersion}`,
            validate: false,
          },
        };
      }),
    );
    for (const e of entries) this.metrics.membership.inc({ change: e.change });
  }

  /** After a definition changed through the admin API: reload and backfill it. */
  async definitionChanged(key: string, version: number): Promise<void> {
    await this.plans.reload();
    this.metrics.activeSegments.set(this.plans.current().segments.length);
    await this.backfills.request(key, version);
  }
}
