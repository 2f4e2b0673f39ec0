/**
 * Recency/frequency/monetary quintiles over every profile with orders, stored on each profile
 * whose scores changed (compare-and-set; a change message per profile). One instance at a time
 * runs it (a lease in `enrichment_state`).
 *
 * Publication is at least once. A change is produced after its profile write, so a run that
 * Kafka failed, or a process that died in between, leaves profiles scored but not announced;
 * their scores are equal on the next run, which would skip them. So the `rfm` state document
 * records up to which run every change was acknowledged (`publishedThrough`, moved on only when
 * a run got through all of them), and a run first re-publishes each profile scored by a later
 * run (`computed.rfm.at`): its current compact profile, under that run's trigger id, which
 * consumers that did get the first copy drop as a duplicate.
 */
import type { ProfileChange } from '@mosaic/contracts';
import { type ProfileState, type RfmInput, rfmInput, rfmScores, scoreProfile, toCompactProfile, withRfm } from '@mosaic/enrichment-domain';
import { type ProfileRepository, documentToState, stateToDocument } from '@mosaic/enrichment-data-access';
import type { Counter, Gauge } from '@mosaic/shared-logging';
import { PeriodicTask } from '@mosaic/shared-service';
import type { JobSchedule } from './job-schedule';

export interface RfmRunResult {
  ran: boolean;
  population: number;
  updated: number;
  conflicts: number;
  /** Changes of an earlier run that had not been confirmed, produced again. */
  republished: number;
}

export interface RfmJobOptions {
  repository: ProfileRepository;
  holder: string;
  leaseMs: number;
  now?: () => Date;
  /** Called with each profile whose scores changed (the service produces it to profiles.changes). */
  onChange: (change: ProfileChange) => Promise<void>;
  /** Runs on its own only with a schedule. */
  schedule?: JobSchedule & { metrics: { rfmUpdated: Counter<string>; rfmPopulation: Gauge<string> } };
}

type Thresholds = ReturnType<typeof rfmScores>;

export class RfmJob {
  private readonly task: PeriodicTask<RfmRunResult>;

  constructor(private readonly opts: RfmJobOptions) {
    const schedule = opts.schedule;
    this.task = new PeriodicTask({
      intervalMs: schedule?.intervalMs ?? 0,
      run: () => this.runOnce(),
      onDone: (r, ms) => {
        if (!r.ran || !schedule) return;
        schedule.metrics.rfmUpdated.inc(r.updated);
        schedule.metrics.rfmPopulation.set(r.population);
        schedule.logger.info({ ...r, durationMs: ms }, 'RFM scores recomputed');
      },
      onError: (err) => schedule?.logger.warn({ err }, 'RFM run failed; the next one will try again'),
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  async runOnce(): Promise<RfmRunResult> {
    const { repository } = this.opts;
    const now = (this.opts.now ?? (() => new Date()))();
    const nowIso = now.toISOString();
    if (!(await repository.takeRfmLease(this.opts.holder, this.opts.leaseMs, now)))
      return { ran: false, population: 0, updated: 0, conflicts: 0, republished: 0 };
    const previous = await repository.readRfmRun();
    const publishedThrough = previous ? (previous.publishedThrough ?? previous.at) : new Date(0).toISOString();
    const { inputs, current, unconfirmed } = await this.population(nowIso, Date.parse(publishedThrough));
    const thresholds = rfmScores([...inputs.values()]);
    const run = { thresholds, population: inputs.size, at: nowIso };
    await repository.saveRfmRun({ ...run, publishedThrough });
    let updated = 0;
    let conflicts = 0;
    let republished = 0;
    for (const [id, input] of inputs) {
      const scores = scoreProfile(thresholds, input);
      if (current.get(id) === `${scores.r}${scores.f}${scores.m}`) {
        if (unconfirmed.has(id) && (await this.republish(id))) republished += 1;
        continue;
      }
      const r = await this.storeScores(id, thresholds, scores, nowIso);
      if (r.updated) updated += 1;
      conflicts += r.conflicts;
    }
    // every change up to this run is acknowledged (a failed produce threw before this)
    await repository.saveRfmRun({ ...run, publishedThrough: nowIso });
    return { ran: true, population: inputs.size, updated, conflicts, republished };
  }

  /**
   * Pass 1: the population (profiles with orders), a projection only, their current scores, and
   * those scored by a run after `publishedThrough` (ms), whose change may never have been produced.
   */
  private async population(
    nowIso: string,
    publishedThrough: number,
  ): Promise<{ inputs: Map<string, RfmInput>; current: Map<string, string>; unconfirmed: Set<string> }> {
    const inputs = new Map<string, RfmInput>();
    const current = new Map<string, string>();
    const unconfirmed = new Set<string>();
    for await (const doc of this.opts.repository.profilesWithOrders()) {
      const input = rfmInput({ computed: { orders: doc.orders } } as never, nowIso);
      if (!input) continue;
      inputs.set(doc._id, input);
      const r = doc.rfm;
      current.set(doc._id, r ? `${r.r}${r.f}${r.m}` : '');
      if (r && Date.parse(r.at) > publishedThrough) unconfirmed.add(doc._id);
    }
    return { inputs, current, unconfirmed };
  }

  /** The change of a profile scored by a run that did not confirm it, produced again as the profile is now. */
  private async republish(id: string): Promise<boolean> {
    const doc = await this.opts.repository.getProfile(id);
    const rfm = doc?.computed.rfm;
    if (!doc || doc.status !== 'active' || !rfm) return false;
    await this.opts.onChange(rfmChange(documentToState(doc), rfm.at));
    return true;
  }

  /** Pass 2, one profile: read, score, compare-and-set (a profile that changed meanwhile is re-read). */
  private async storeScores(
    id: string,
    thresholds: Thresholds,
    scores: ReturnType<typeof scoreProfile>,
    nowIso: string,
  ): Promise<{ updated: boolean; conflicts: number }> {
    const { repository } = this.opts;
    let conflicts = 0;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const doc = await repository.getProfile(id);
      if (!doc || doc.status !== 'active') break;
      const state = documentToState(doc);
      const fresh = rfmInput(state, nowIso);
      const next = withRfm(state, fresh ? scoreProfile(thresholds, fresh) : scores, nowIso);
      const written = stateToDocument(next, {
        status: 'active',
        writeId: repository.newWriteId(),
        ...(doc.expiresAt ? { expiresAt: doc.expiresAt } : {}),
        ...(doc.activity !== undefined ? { activity: doc.activity } : {}),
      });
      const r = await repository.writeProfiles([{ expected: doc.version, doc: written }]);
      if (r.get(id) === 'applied') {
        await this.opts.onChange(rfmChange(next, nowIso));
        return { updated: true, conflicts };
      }
      conflicts += 1;
    }
    return { updated: false, conflicts };
  }
}

/** The change message of the RFM run of `runAt` for a profile as it is in `state`. */
function rfmChange(state: ProfileState, runAt: string): ProfileChange {
  return {
    profileId: state.profileId,
    version: state.version,
    changed: ['computed.rfm'],
    profile: toCompactProfile(state),
    trigger: { messageId: `rfm:${runAt}`, kind: 'rfm' },
    at: runAt,
  };
}
