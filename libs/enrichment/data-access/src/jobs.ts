/**
 * The enrichment service's shared, periodically refreshed state and its periodic jobs:
 * - `PriceIndexHolder`: the global category price index (per-category min/max of prices seen on
 *   product events) that price tiers are computed against. Each instance collects observations
 *   in memory and merges them into the `price-index` state document (compare-and-set) on
 *   `sync()`, which also picks up what other instances observed. Min and max are idempotent,
 *   so replays do not skew it.
 * - `RfmJob`: recency/frequency/monetary quintiles over every profile with orders, stored on
 *   each profile whose scores changed (compare-and-set; a change message per profile). One
 *   instance at a time runs it (a lease in `enrichment_state`).
 */
import type { ProfileChange } from '@mosaic/contracts';
import {
  type CategoryPriceIndex,
  type RfmInput,
  emptyPriceIndex,
  mergePriceIndex,
  observePrice,
  rfmInput,
  rfmScores,
  scoreProfile,
  toCompactProfile,
  withRfm,
} from '@mosaic/enrichment-domain';
import { documentToState, stateToDocument } from './documents';
import type { MongoProfileStore } from './profile-store';

export const PRICE_INDEX_DOC = 'price-index';
export const RFM_DOC = 'rfm';

export class PriceIndexHolder {
  private index: CategoryPriceIndex = emptyPriceIndex();
  private pending: CategoryPriceIndex = emptyPriceIndex();

  constructor(private readonly store: MongoProfileStore) {}

  current(): CategoryPriceIndex {
    return this.index;
  }

  observe(category: string, price: number): void {
    this.pending = observePrice(this.pending, category, price);
    this.index = observePrice(this.index, category, price);
  }

  /** Writes pending observations into the shared document and reloads it. */
  async sync(): Promise<{ categories: number }> {
    const pending = this.pending;
    this.pending = emptyPriceIndex();
    try {
      const doc = Object.keys(pending.categories).length === 0
        ? await this.store.getState(PRICE_INDEX_DOC)
        : await this.store.updateState(PRICE_INDEX_DOC, (current) => mergePriceIndex((current as unknown as CategoryPriceIndex | undefined) ?? emptyPriceIndex(), pending) as unknown as Record<string, unknown>);
      const stored = (doc?.value as unknown as CategoryPriceIndex | undefined) ?? emptyPriceIndex();
      this.index = mergePriceIndex(stored.categories ? stored : emptyPriceIndex(), this.pending);
    } catch (err) {
      this.pending = mergePriceIndex(this.pending, pending);
      throw err;
    }
    return { categories: Object.keys(this.index.categories).length };
  }
}

export interface RfmRunResult {
  ran: boolean;
  population: number;
  updated: number;
  conflicts: number;
}

export interface RfmJobOptions {
  store: MongoProfileStore;
  holder: string;
  leaseMs: number;
  now?: () => Date;
  /** Called with each profile whose scores changed (the service produces it to profiles.changes). */
  onChange: (change: ProfileChange) => Promise<void>;
}

export class RfmJob {
  constructor(private readonly opts: RfmJobOptions) {}

  async runOnce(): Promise<RfmRunResult> {
    const { store } = this.opts;
    const now = (this.opts.now ?? (() => new Date()))();
    const nowIso = now.toISOString();
    if (!(await store.takeLease(`${RFM_DOC}-lease`, this.opts.holder, this.opts.leaseMs, now))) return { ran: false, population: 0, updated: 0, conflicts: 0 };
    // Pass 1: the population (profiles with orders), a projection only.
    const inputs = new Map<string, RfmInput>();
    const current = new Map<string, string>();
    for await (const doc of store.profilesWithOrders()) {
      const input = rfmInput({ computed: { orders: doc.orders } } as never, nowIso);
      if (!input) continue;
      inputs.set(doc._id, input);
      const r = doc.rfm;
      current.set(doc._id, r ? `${r.r}${r.f}${r.m}` : '');
    }
    const thresholds = rfmScores([...inputs.values()]);
    await store.updateState(RFM_DOC, () => ({ thresholds, population: inputs.size, at: nowIso }) as unknown as Record<string, unknown>);
    // Pass 2: store changed scores (read, compare-and-set; a profile that changed meanwhile is re-read).
    let updated = 0;
    let conflicts = 0;
    for (const [id, input] of inputs) {
      const scores = scoreProfile(thresholds, input);
      if (current.get(id) === `${scores.r}${scores.f}${scores.m}`) continue;
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const doc = await store.getProfile(id);
        if (!doc || doc.status !== 'active') break;
        const state = documentToState(doc);
        const fresh = rfmInput(state, nowIso);
        const next = withRfm(state, fresh ? scoreProfile(thresholds, fresh) : scores, nowIso);
        const written = stateToDocument(next, { status: 'active', writeId: store.newWriteId(), ...(doc.expiresAt ? { expiresAt: doc.expiresAt } : {}) });
        const r = await store.writeProfiles([{ expected: doc.version, doc: written }]);
        if (r.get(id) === 'applied') {
          updated += 1;
          await this.opts.onChange({ profileId: id, version: next.version, changed: ['computed.rfm'], profile: toCompactProfile(next), trigger: { messageId: `rfm:${nowIso}`, kind: 'rfm' }, at: nowIso });
          break;
        }
        conflicts += 1;
      }
    }
    return { ran: true, population: inputs.size, updated, conflicts };
  }
}
