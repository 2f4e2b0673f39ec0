import { randomInt, randomUUID } from 'node:crypto';
import { Schemas, type SplitNotice } from '@mosaic/contracts';
import {
  MAX_REDIRECT_HOPS,
  createProfileIdGenerator,
  identifierKey,
  isValidIdentifierType,
  normalizeEmail,
  normalizePhone,
  type Identifier,
  type IdentifierRecord,
  type ProfileRecord,
  type RuleError,
  type SplitPlan,
} from '@mosaic/identity-domain';
import { BatchResolver, ExpirySweeper, IdentifierCache, MongoIdentityStore, RulesRepository, runSplitOperation } from '@mosaic/identity-data-access';
import { detectServerProfile, type CasMode, type ServerProfile } from '@mosaic/shared-mongo';
import type { CommonConfig } from '@mosaic/shared-config';
import { produceMessage } from '@mosaic/shared-kafka';
import type { Platform } from '@mosaic/shared-service';
import type { IdentityEnv } from './identity.config';
import { identityMetrics, type IdentityMetrics } from './identity.metrics';
import { ResolutionConsumer } from './resolution.consumer';
import { RulesHolder } from './rules.holder';

export type NormalizeIdentifierResult = { ok: true; identifier: Identifier } | { ok: false; message: string };

/** Normalises an identifier given by an admin the way extraction does (email lower-cased, phone to E.164, others trimmed). */
export function normalizeIdentifier(type: unknown, value: unknown): NormalizeIdentifierResult {
  if (typeof type !== 'string' || !isValidIdentifierType(type)) return { ok: false, message: 'unknown identifier type (userId, email, phone, anonymousId, external:<name>)' };
  if (typeof value !== 'string' || value.trim() === '') return { ok: false, message: 'must be a non-empty string' };
  if (type === 'email') {
    const r = normalizeEmail(value);
    return r.ok ? { ok: true, identifier: { type, value: r.value } } : { ok: false, message: r.reason };
  }
  if (type === 'phone') {
    const r = normalizePhone(value);
    return r.ok ? { ok: true, identifier: { type, value: r.value } } : { ok: false, message: r.reason };
  }
  return { ok: true, identifier: { type, value: value.trim() } };
}

export type ChainResolution = { state: 'live'; profile: ProfileRecord; path: string[]; requested: ProfileRecord } | { state: 'missing'; missingId: string; path: string[]; requested?: ProfileRecord };

export type SplitResult = { ok: true; plan: SplitPlan } | { ok: false; status: 400 | 404 | 409; errors: RuleError[] };

/**
 * The identity service, assembled: the MongoDB store (compare-and-set mode detected), the
 * rules, the per-instance cache and batch resolver, the `events.raw` consumer, the expiry
 * sweep, and what the admin API needs. Created once per process (`IdentityModule`).
 */
export class IdentityService {
  readonly metrics: IdentityMetrics;
  readonly store: MongoIdentityStore;
  readonly rules: RulesHolder;
  readonly resolver: BatchResolver;
  readonly cache: IdentifierCache;
  private readonly newProfileId = createProfileIdGenerator({ now: Date.now, random: () => randomInt(0, 2 ** 32) / 2 ** 32 });
  private readonly sweeper: ExpirySweeper;

  private constructor(
    readonly platform: Platform,
    readonly config: CommonConfig & { own: IdentityEnv },
    readonly server: ServerProfile,
    readonly cas: CasMode,
  ) {
    const own = config.own;
    const logger = platform.runtime.logger;
    this.metrics = identityMetrics(platform.runtime.metrics);
    this.store = new MongoIdentityStore(platform.mongo, { cas, pointReads: server.pointReads, ticketLeaseMs: own.IDENTITY_TICKET_LEASE_MS, instanceId: config.instanceId });
    this.rules = new RulesHolder(new RulesRepository(this.store), logger, (loaded) => this.metrics.rulesVersion.set(loaded.version));
    this.cache = new IdentifierCache(own.IDENTITY_CACHE_MAX_ENTRIES);
    this.resolver = new BatchResolver({
      store: this.store,
      cache: this.cache,
      newProfileId: this.newProfileId,
      maxAttempts: own.IDENTITY_MAX_ATTEMPTS,
      processedTtlMs: own.IDENTITY_PROCESSED_TTL_DAYS * 86_400_000,
    });
    this.sweeper = new ExpirySweeper({
      store: this.store,
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

  /** Connects everything and registers the consumer (the platform starts it once HTTP is up). */
  static async start(platform: Platform, config: CommonConfig & { own: IdentityEnv }): Promise<IdentityService> {
    const server = await detectServerProfile(platform.mongo);
    const mode = config.own.IDENTITY_STORE_CAS === 'auto' ? server.cas : config.own.IDENTITY_STORE_CAS;
    const service = new IdentityService(platform, config, server, mode);
    if (server.ferretdb && mode === 'native') {
      platform.runtime.logger.warn({ server: server.version }, 'IDENTITY_STORE_CAS=native on FerretDB: its conditional writes are not atomic under concurrency; concurrent instances can corrupt the graph (use auto or ticket)');
    }
    await service.store.ensureIndexes();
    const rules = await service.rules.init();
    platform.runtime.logger.info({ server: server.version, cas: mode, pointReads: server.pointReads, rulesVersion: rules.version, rulesSource: rules.source, cacheMaxEntries: service.cache.maxEntries }, 'identity store ready');
    const consumer = new ResolutionConsumer({
      resolver: service.resolver,
      rules: service.rules,
      producer: platform.producer,
      topics: platform.topics,
      metrics: service.metrics,
      logger: platform.runtime.logger,
    });
    platform.consumers().register({ topic: 'eventsRaw', handler: consumer.handle });
    service.rules.startPolling(config.own.IDENTITY_RULES_REFRESH_SECONDS * 1000);
    service.sweeper.start();
    // Hooks run in reverse order, after the consumers (registered first) have drained.
    platform.onShutdown(async () => {
      await service.rules.stop();
      await service.sweeper.stop();
    });
    return service;
  }

  /** One sweep now (tests, tools). */
  sweepNow(): ReturnType<ExpirySweeper['runOnce']> {
    return this.sweeper.runOnce();
  }

  /** Follows `mergedInto` from `profileId` (fresh reads). */
  async resolveChain(profileId: string): Promise<ChainResolution> {
    const path: string[] = [];
    let requested: ProfileRecord | undefined;
    let id = profileId;
    for (let hops = 0; hops <= MAX_REDIRECT_HOPS && !path.includes(id); hops += 1) {
      path.push(id);
      const [profile] = await this.store.getProfiles([id]);
      if (!profile) return { state: 'missing', missingId: id, path, ...(requested ? { requested } : {}) };
      requested ??= profile;
      if (profile.status !== 'merged' || profile.mergedInto === undefined) return { state: 'live', profile, path, requested };
      id = profile.mergedInto;
    }
    return { state: 'missing', missingId: id, path, ...(requested ? { requested } : {}) };
  }

  async lookupIdentifier(identifier: Identifier): Promise<{ record: IdentifierRecord; chain: ChainResolution } | null> {
    const [record] = await this.store.getIdentifiers([identifierKey(identifier)]);
    if (!record) return null;
    return { record, chain: await this.resolveChain(record.profileId) };
  }

  /**
   * Splits `identifiers` off `profileId` into a new profile (see `runSplitOperation`): the
   * SplitNotice is produced keyed by the new profile before any identifier is handed over, and
   * keyed by the source once the split is complete. `operationId` makes retries idempotent.
   */
  async split(profileId: string, identifiers: Identifier[], reason: string, idempotencyKey?: string): Promise<SplitResult> {
    const operationId = `split:${idempotencyKey ?? randomUUID()}`;
    const rules = this.rules.current().rules;
    const produce = async (plan: SplitPlan, key: string, suffix: string): Promise<void> => {
      await produceMessage(this.platform.producer, this.platform.topics.eventsResolved, Schemas.resolved, plan.notice as SplitNotice, {
        key,
        producer: 'identity',
        correlationId: operationId,
        messageId: `${operationId}:${suffix}`,
      });
    };
    const outcome = await runSplitOperation(this.store, { profileId, identifiers, reason, operationId }, {
      rules,
      now: () => new Date(),
      newProfileId: this.newProfileId,
      maxAttempts: this.config.own.IDENTITY_MAX_ATTEMPTS,
      announce: (plan) => produce(plan, plan.newProfileId, 'new'),
    });
    if (!outcome.ok) {
      const notFound = outcome.errors.some((e) => e.path === 'profileId' && e.message === 'profile not found');
      const conflict = outcome.conflict === true || outcome.errors.some((e) => e.path === 'profileId');
      return { ok: false, status: notFound ? 404 : conflict ? 409 : 400, errors: outcome.errors };
    }
    const { plan } = outcome;
    await this.store.appendAudit(plan.audit);
    for (const id of plan.identifiers) this.cache.delete(identifierKey(id));
    await produce(plan, plan.fromProfileId, 'from');
    if (!plan.alreadyApplied) {
      this.metrics.splits.inc();
      this.metrics.created.inc();
    }
    this.platform.runtime.logger.info({ operationId, correlationId: operationId, fromProfileId: plan.fromProfileId, newProfileId: plan.newProfileId, identifiers: plan.identifiers.map(identifierKey), alreadyApplied: plan.alreadyApplied }, 'profile split');
    return { ok: true, plan };
  }
}
