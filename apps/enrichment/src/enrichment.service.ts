import { Schemas, decodeMessage, type Envelope, type ProfileChange, type ResolvedMessage } from '@mosaic/contracts';
import { BatchApplier, MongoProfileStore, PriceIndexHolder, RfmJob, type ChangeOut, type SweepResult } from '@mosaic/enrichment-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import { produceMessages, type BatchContext, type InboundMessage } from '@mosaic/shared-kafka';
import { detectServerProfile, type CasMode, type ServerProfile } from '@mosaic/shared-mongo';
import { PeriodicTask, type Platform } from '@mosaic/shared-service';
import type { EnrichmentEnv } from './enrichment.config';
import { enrichmentMetrics, type EnrichmentMetrics } from './enrichment.metrics';

const DAY_MS = 86_400_000;

/**
 * The enrichment service, assembled: the profile store (compare-and-set mode detected), the
 * batch applier, the `events.resolved` consumer that produces `profiles.changes`, the category
 * price index, the RFM job and the expiry sweep. Created once per process (`EnrichmentModule`).
 */
export class EnrichmentService {
  readonly metrics: EnrichmentMetrics;
  readonly store: MongoProfileStore;
  readonly prices: PriceIndexHolder;
  readonly applier: BatchApplier;
  readonly rfm: RfmJob;
  private readonly sweep: PeriodicTask<SweepResult>;
  private readonly rfmTask: PeriodicTask<Awaited<ReturnType<RfmJob['runOnce']>>>;
  private readonly priceTask: PeriodicTask<{ categories: number }>;

  private constructor(
    readonly platform: Platform,
    readonly config: CommonConfig & { own: EnrichmentEnv },
    readonly server: ServerProfile,
    readonly cas: CasMode,
  ) {
    const own = config.own;
    const logger = platform.runtime.logger;
    this.metrics = enrichmentMetrics(platform.runtime.metrics);
    this.store = new MongoProfileStore(platform.mongo, { cas, pointReads: server.pointReads, ticketLeaseMs: own.ENRICHMENT_TICKET_LEASE_MS, instanceId: config.instanceId });
    this.prices = new PriceIndexHolder(this.store);
    this.applier = new BatchApplier({
      store: this.store,
      config: { sessionGapMinutes: own.ENRICHMENT_SESSION_GAP_MINUTES, affinityHalfLifeDays: own.ENRICHMENT_AFFINITY_HALF_LIFE_DAYS },
      anonymousTtlMs: own.ENRICHMENT_ANONYMOUS_TTL_DAYS * DAY_MS,
      redirectTtlMs: own.ENRICHMENT_REDIRECT_TTL_DAYS * DAY_MS,
      eventRetentionMs: own.ENRICHMENT_EVENT_RETENTION_DAYS * DAY_MS,
      maxAttempts: own.ENRICHMENT_MAX_ATTEMPTS,
      cacheMaxEntries: own.ENRICHMENT_CACHE_MAX_ENTRIES,
      segmentEvents: own.ENRICHMENT_SEGMENT_EVENTS,
      priceIndex: () => this.prices.current(),
      observePrice: (category, price) => this.prices.observe(category, price),
    });
    this.rfm = new RfmJob({
      store: this.store,
      holder: config.instanceId,
      leaseMs: Math.max(60_000, own.ENRICHMENT_RFM_INTERVAL_SECONDS * 500),
      onChange: (change) => this.produceChanges([{ key: change.profileId, messageId: `chg:${change.profileId}:${change.trigger?.messageId ?? change.version}`, correlationId: change.trigger?.messageId ?? 'rfm', change, duplicate: false }]),
    });
    this.sweep = new PeriodicTask({
      intervalMs: own.ENRICHMENT_SWEEP_INTERVAL_SECONDS * 1000,
      run: () => this.store.sweepExpired(),
      onDone: (r, ms) => {
        for (const [what, n] of Object.entries(r)) this.metrics.swept.inc({ what }, n);
        if (r.profiles + r.redirects + r.events + r.tickets > 0) logger.info({ ...r, durationMs: ms }, 'expiry sweep');
      },
      onError: (err) => logger.warn({ err }, 'expiry sweep failed; the next one will try again'),
    });
    this.rfmTask = new PeriodicTask({
      intervalMs: own.ENRICHMENT_RFM_INTERVAL_SECONDS * 1000,
      run: () => this.rfm.runOnce(),
      onDone: (r, ms) => {
        if (!r.ran) return;
        this.metrics.rfmUpdated.inc(r.updated);
        this.metrics.rfmPopulation.set(r.population);
        logger.info({ ...r, durationMs: ms }, 'RFM scores recomputed');
      },
      onError: (err) => logger.warn({ err }, 'RFM run failed; the next one will try again'),
    });
    this.priceTask = new PeriodicTask({
      intervalMs: own.ENRICHMENT_PRICE_INDEX_SYNC_SECONDS * 1000,
      run: () => this.prices.sync(),
      onDone: (r) => this.metrics.priceCategories.set(r.categories),
      onError: (err) => logger.warn({ err }, 'price index sync failed; observations are kept for the next one'),
    });
  }

  /** Connects everything and registers the consumer (the platform starts it once HTTP is up). */
  static async start(platform: Platform, config: CommonConfig & { own: EnrichmentEnv }): Promise<EnrichmentService> {
    const server = await detectServerProfile(platform.mongo);
    const mode = config.own.ENRICHMENT_STORE_CAS === 'auto' ? server.cas : config.own.ENRICHMENT_STORE_CAS;
    const service = new EnrichmentService(platform, config, server, mode);
    if (server.ferretdb && mode === 'native') {
      platform.runtime.logger.warn({ server: server.version }, 'ENRICHMENT_STORE_CAS=native on FerretDB: its conditional writes are not atomic under concurrency; concurrent instances can lose profile updates (use auto or ticket)');
    }
    await service.store.ensureIndexes(server.ttlIndexes);
    await service.prices.sync();
    platform.runtime.logger.info({ server: server.version, cas: mode, pointReads: server.pointReads, ttlIndexes: server.ttlIndexes }, 'profile store ready');
    service.sweep.start();
    service.rfmTask.start();
    service.priceTask.start();
    // Hooks run in reverse order, after the consumers (registered first) have drained.
    platform.onShutdown(async () => {
      await Promise.all([service.sweep.stop(), service.rfmTask.stop(), service.priceTask.stop()]);
      await service.prices.sync().catch(() => undefined);
    });
    return service;
  }

  /**
   * The `events.resolved` batch handler (one partition's batch, in order): decode (a message
   * off the contract throws before anything is written: the host re-runs the batch one message
   * at a time and dead-letters that one) → apply (profiles written) → produce the changes →
   * resolve, so the host commits only after Kafka acknowledged them.
   */
  readonly handle = async (messages: InboundMessage[], ctx: BatchContext): Promise<void> => {
    const started = process.hrtime.bigint();
    const envelopes: Envelope<ResolvedMessage>[] = messages.map((m) => decodeMessage(Schemas.resolved, m.value));
    const { changes, stats } = await this.applier.applyBatch(
      envelopes.map((e) => ({ messageId: e.messageId, correlationId: e.correlationId, payload: e.payload })),
      { afterSegment: () => ctx.heartbeat() },
    );
    await this.produceChanges(changes);
    const m = this.metrics;
    m.messages.inc({ outcome: 'applied' }, stats.applied);
    m.messages.inc({ outcome: 'duplicate' }, stats.duplicates);
    m.messages.inc({ outcome: 'merge' }, stats.merges);
    m.messages.inc({ outcome: 'split' }, stats.splits);
    m.conflicts.inc(stats.conflicts);
    m.cache.inc({ result: 'hit' }, stats.cacheHits);
    m.cache.inc({ result: 'miss' }, stats.cacheMisses);
    m.cacheEntries.set(this.applier.cache.size);
    m.profilesWritten.inc(stats.profilesWritten);
    m.applyLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    const now = Date.now();
    for (const e of envelopes) {
      if (e.payload.kind !== 'event') continue;
      const received = Date.parse(e.payload.event.receivedAt ?? '');
      if (Number.isFinite(received) && now >= received) m.eventLag.observe((now - received) / 1000);
    }
    if (stats.merges + stats.splits > 0 || stats.conflicts > 0) {
      const last = messages[messages.length - 1] as InboundMessage;
      this.platform.runtime.logger.info({ topic: last.topic, partition: last.partition, offset: last.offset, correlationId: envelopes[envelopes.length - 1]?.correlationId, ...stats }, 'batch applied');
    }
  };

  async produceChanges(changes: readonly ChangeOut[]): Promise<void> {
    if (changes.length === 0) return;
    await produceMessages(
      this.platform.producer,
      this.platform.topics.profilesChanges,
      Schemas.profileChange,
      changes.map((c) => ({ payload: c.change as ProfileChange, meta: { key: c.key, producer: 'enrichment', correlationId: c.correlationId, messageId: c.messageId, validate: false } })),
    );
    this.metrics.changes.inc(changes.length);
  }

  /** One sweep / RFM run / price-index sync now (tests, tools). */
  sweepNow(): Promise<SweepResult | undefined> {
    return this.sweep.runOnce();
  }

  rfmNow(): ReturnType<RfmJob['runOnce']> {
    return this.rfm.runOnce();
  }

  syncPricesNow(): Promise<{ categories: number }> {
    return this.prices.sync();
  }
}
