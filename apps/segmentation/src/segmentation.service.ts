import {
  BackfillJob,
  ClusteringJob,
  DeleteSegment,
  EvaluateProfileChanges,
  FireDueTimers,
  ListFieldsJob,
  DEFAULT_LIST_BUDGET,
  ListProfiles,
  PreviewSegment,
  PublishMembershipChanges,
  ReadSizeHistory,
  ReevaluateSegment,
  SampleSegmentSizes,
  SegmentEvaluator,
  ValidateSegmentDefinition,
} from '@mosaic/segmentation-application';
import {
  BackfillsRepository,
  ClusteringRunsRepository,
  PlanCache,
  ProfileListRepository,
  SegmentDefinitionsRepository,
  SegmentProfilesRepository,
  SegmentSizesRepository,
  SizeHistoryRepository,
  StoredEventsRepository,
} from '@mosaic/segmentation-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import { casModeRisk, detectServerProfile, type CasMode } from '@mosaic/shared-mongo';
import { PeriodicTask, type Platform } from '@mosaic/shared-service';
import type { SegmentationEnv } from './segmentation.config';
import { segmentationMetrics, type SegmentationMetrics } from './segmentation.metrics';

type SegmentationConfig = CommonConfig & { own: SegmentationEnv };

/**
 * The segmentation service, assembled: repositories, the evaluator and the use cases over them,
 * and the periodic tasks (clustering, definitions refresh, timers, backfills). Created once per
 * process (`SegmentationModule`); the consumer and the controllers call into it.
 */
export class SegmentationService {
  readonly metrics: SegmentationMetrics;
  readonly plans: PlanCache;
  readonly profiles: SegmentProfilesRepository;
  readonly backfills: BackfillsRepository;
  readonly sizes: SegmentSizesRepository;
  readonly sizeHistory: SizeHistoryRepository;
  readonly sampleSizes: SampleSegmentSizes;
  readonly readSizeHistory: ReadSizeHistory;
  readonly evaluator: SegmentEvaluator;
  readonly backfill: BackfillJob;
  readonly clustering: ClusteringJob;
  readonly evaluateChanges: EvaluateProfileChanges;
  readonly fireTimers: FireDueTimers;
  readonly validateDefinition: ValidateSegmentDefinition;
  readonly reevaluate: ReevaluateSegment;
  readonly deleteSegment: DeleteSegment;
  readonly preview: PreviewSegment;
  readonly profileList: ProfileListRepository;
  readonly listProfiles: ListProfiles;
  readonly listFields: ListFieldsJob;
  private readonly listFieldsTask: PeriodicTask<Awaited<ReturnType<ListFieldsJob['runOnce']>>>;
  private readonly tasks: { start(): void; stop(): Promise<void> }[];

  private constructor(
    readonly platform: Platform,
    readonly config: SegmentationConfig,
    readonly definitions: SegmentDefinitionsRepository,
    cas: CasMode,
    pointReads: boolean,
    membershipPartitions: number,
  ) {
    const own = config.own;
    const logger = platform.runtime.logger;
    const metrics = (this.metrics = segmentationMetrics(platform.runtime.metrics));
    this.plans = new PlanCache(definitions);
    this.profiles = new SegmentProfilesRepository(platform.mongo, {
      cas,
      instanceId: config.instanceId,
      pointReads,
      cacheMaxEntries: own.SEGMENTATION_CACHE_MAX_ENTRIES,
    });
    this.backfills = new BackfillsRepository(platform.mongo);
    this.sizes = new SegmentSizesRepository(platform.mongo, config.instanceId);
    this.sizeHistory = new SizeHistoryRepository(platform.mongo, own.SEGMENTATION_SIZE_HISTORY_RETENTION_DAYS * 86_400_000);
    this.sampleSizes = new SampleSegmentSizes({
      history: this.sizeHistory,
      sizes: () => this.sizes.sizes(),
      keys: async () => (await definitions.list()).map((s) => s.key),
      intervalMs: own.SEGMENTATION_SIZE_HISTORY_INTERVAL_MS,
    });
    this.readSizeHistory = new ReadSizeHistory(this.sizeHistory);
    const publish = new PublishMembershipChanges({
      producer: platform.producer,
      topic: platform.topics.segmentsMembership,
      partitions: membershipPartitions,
      metrics,
    });
    this.evaluator = new SegmentEvaluator({
      store: this.profiles,
      events: new StoredEventsRepository(platform.mongo, own.SEGMENTATION_EVENTS_COLLECTION, pointReads),
      publish: (entries, partitionOf) => publish.execute(entries, partitionOf),
      sizes: this.sizes,
      plan: () => this.plans.current(),
      maxAttempts: own.SEGMENTATION_MAX_ATTEMPTS,
    });
    this.backfill = new BackfillJob({
      backfills: this.backfills,
      store: this.profiles,
      evaluator: this.evaluator,
      ensurePlan: (key, version) => this.plans.ensure(key, version),
      instanceId: config.instanceId,
      pageSize: own.SEGMENTATION_BACKFILL_PAGE,
      rate: own.SEGMENTATION_BACKFILL_RATE,
      onPage: (key, page) => {
        metrics.backfilled.inc(page.processed);
        metrics.evaluations.inc({ source: 'backfill' }, page.processed);
        logger.debug({ segment: key, ...page }, 'backfill page');
      },
      onError: (err) => logger.warn({ err }, 'backfill pass failed; the next round resumes'),
    });
    const runs = new ClusteringRunsRepository(platform.mongo);
    this.clustering = new ClusteringJob({
      runs,
      store: this.profiles,
      evaluator: this.evaluator,
      definitions,
      plans: this.plans,
      instanceId: config.instanceId,
      k: own.SEGMENTATION_CLUSTER_K,
    });
    this.evaluateChanges = new EvaluateProfileChanges({
      evaluator: this.evaluator,
      profiles: this.profiles,
      metrics,
      logger,
      roundSize: own.SEGMENTATION_SEGMENT_CHANGES,
    });
    this.fireTimers = new FireDueTimers({
      evaluator: this.evaluator,
      metrics,
      batch: own.SEGMENTATION_TIMER_BATCH,
      assignedPartitions: () => this.assignedPartitions(),
    });
    this.validateDefinition = new ValidateSegmentDefinition(definitions);
    this.reevaluate = new ReevaluateSegment(this.plans, this.backfill, metrics);
    this.deleteSegment = new DeleteSegment(definitions, this.reevaluate);
    this.preview = new PreviewSegment(this.evaluator, this.profiles);
    this.profileList = new ProfileListRepository(platform.mongo);
    this.listProfiles = new ListProfiles(this.profileList, {
      ...DEFAULT_LIST_BUDGET,
      maxQueries: own.SEGMENTATION_LIST_MAX_QUERIES,
      maxDocuments: own.SEGMENTATION_LIST_MAX_DOCUMENTS,
    });
    this.listFields = new ListFieldsJob({ store: this.profiles, list: this.profileList });
    this.listFieldsTask = this.listFieldsPeriodicTask();
    this.tasks = [...this.periodicTasks(), this.listFieldsTask];
  }

  /** Files profiles written before the contact list (once per database; retried a minute after a failure). */
  private listFieldsPeriodicTask(): PeriodicTask<Awaited<ReturnType<ListFieldsJob['runOnce']>>> {
    const logger = this.platform.runtime.logger;
    return new PeriodicTask({
      intervalMs: 60_000,
      run: () => this.listFields.runOnce(),
      onDone: (r) => {
        if (r.ran) logger.info(r, 'profiles written before the contact list existed are filed for it');
      },
      onError: (err) => logger.warn({ err }, 'filing profiles for the contact list failed; retried in a minute'),
    });
  }

  private periodicTasks(): { start(): void; stop(): Promise<void> }[] {
    const own = this.config.own;
    const logger = this.platform.runtime.logger;
    return [
      new PeriodicTask({
        intervalMs: own.SEGMENTATION_CLUSTER_INTERVAL_SECONDS * 1000,
        run: () => this.clustering.runOnce(),
        onDone: (r, ms) => {
          if (r.ran)
            logger.info(
              { profiles: r.profiles, changed: r.changed, published: r.published, iterations: r.iterations, clusters: r.clusters, durationMs: ms },
              'clustering run',
            );
        },
        onError: (err) => logger.warn({ err }, 'clustering run failed; the next interval retries'),
      }),
      new PeriodicTask({
        intervalMs: own.SEGMENTATION_DEFINITIONS_REFRESH_MS,
        run: () => this.plans.reload(),
        onDone: () => this.metrics.activeSegments.set(this.plans.current().segments.length),
        onError: (err) => logger.warn({ err }, 'reloading segment definitions failed; evaluating with the ones held'),
      }),
      new PeriodicTask({
        intervalMs: own.SEGMENTATION_TIMER_INTERVAL_MS,
        run: () => this.fireTimers.execute(),
        onError: (err) => logger.warn({ err }, 'timer round failed; the next one retries'),
      }),
      new PeriodicTask({
        intervalMs: own.SEGMENTATION_SIZES_FOLD_MS,
        run: () => this.sizes.fold(),
        onError: (err) => logger.warn({ err }, 'folding size deltas failed; the next round resumes'),
      }),
      new PeriodicTask({
        // Several rounds an interval: a late timer must not skip an interval (each instance samples an interval once).
        intervalMs: Math.min(60_000, Math.max(200, own.SEGMENTATION_SIZE_HISTORY_INTERVAL_MS / 5)),
        run: () => this.sampleSizes.execute(),
        onDone: (r) => {
          if (r.interval) logger.debug(r, 'segment sizes sampled');
        },
        onError: (err) => logger.warn({ err }, 'sampling segment sizes failed; the next round retries'),
      }),
      new PeriodicTask({
        intervalMs: 600_000,
        run: () => this.sizeHistory.sweepExpired(),
        onDone: (deleted) => logger.debug({ deleted }, 'expired segment size points deleted'),
        onError: (err) => logger.warn({ err }, 'deleting expired segment size points failed; the next round retries'),
      }),
      new PeriodicTask({
        intervalMs: own.SEGMENTATION_TICKET_SWEEP_SECONDS * 1000,
        run: () => this.profiles.sweepTickets(),
        onDone: (deleted) => logger.debug({ deleted }, 'compare-and-set tickets swept'),
        onError: (err) => logger.warn({ err }, 'sweeping compare-and-set tickets failed; the next round retries'),
      }),
      new PeriodicTask({
        intervalMs: 2000,
        run: () => this.backfill.tick(),
        onError: (err) => logger.warn({ err }, 'backfill round failed; the next one resumes'),
      }),
    ];
  }

  static async start(platform: Platform, config: SegmentationConfig): Promise<SegmentationService> {
    const server = await detectServerProfile(platform.mongo);
    const cas = config.own.SEGMENTATION_STORE_CAS === 'auto' ? server.cas : config.own.SEGMENTATION_STORE_CAS;
    const risk = casModeRisk(server, cas);
    if (risk) platform.runtime.logger.warn({ server: server.version }, `SEGMENTATION_STORE_CAS=${cas}: ${risk}`);
    const definitions = new SegmentDefinitionsRepository(platform.mongo, { cas, instanceId: config.instanceId });
    const membershipPartitions = await partitionCount(platform, platform.topics.segmentsMembership);
    const service = new SegmentationService(platform, config, definitions, cas, server.pointReads, membershipPartitions);
    await definitions.ensureIndexes();
    await service.profiles.ensureIndexes();
    await service.backfills.ensureIndexes();
    await service.sizes.ensureIndexes();
    await service.sizeHistory.ensureIndexes();
    await service.profileList.ensureIndexes();
    await service.plans.reload();
    const keys = (await definitions.list()).map((s) => s.key);
    if (await service.sizes.seedOnce(keys, (key) => service.profiles.countMembers(key)))
      platform.runtime.logger.info({ segments: keys.length }, 'segment sizes seeded from the stored profiles (first start of a version that keeps them)');
    service.metrics.activeSegments.set(service.plans.current().segments.length);
    platform.runtime.logger.info(
      { server: server.version, cas, segments: service.plans.current().segments.length, skipped: service.plans.skipped() },
      'segmentation ready',
    );
    for (const t of service.tasks) t.start();
    void service.listFieldsTask.runOnce(); // documents of a version before the contact list: filed now, not in a minute
    // A backfill page in progress finishes and its job is released for another instance to resume.
    platform.onShutdown(async () => {
      await service.backfill.stop();
      service.listFields.stop();
      await Promise.all(service.tasks.map((t) => t.stop()));
    });
    return service;
  }

  /** The `profiles.changes` partitions this instance owns (the timers it fires). */
  private assignedPartitions(): number[] {
    return (
      this.platform
        .consumers()
        .health()
        .topics.find((t) => t.topicKey === 'profilesChanges')?.assignedPartitions ?? []
    );
  }
}

async function partitionCount(platform: Platform, topic: string): Promise<number> {
  const admin = platform.kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return Math.max(1, topics[0]?.partitions.length ?? 1);
  } finally {
    await admin.disconnect();
  }
}
