/**
 * Sends due deliveries. Each instance dispatches the deliveries of the `segments.membership`
 * partitions it owns, and claims each one before sending it (a lease in the store), so two
 * instances that both read it during a rebalance do not both send it. Every destination has its
 * own share of each round's reads and its own concurrency slots and rate limit: a slow, failing,
 * disabled or deleted destination only ever holds back its own deliveries. Outcomes: 2xx
 * delivered; 408/409/425/429/5xx/timeouts/network errors retried with exponential back-off and
 * full jitter (honouring Retry-After); other 4xx fail at once, and so does a destination whose
 * host or resolved address the outbound policy refuses (`blocked`); after the last attempt the
 * delivery is dead, and then dead-lettered.
 */
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { HEADER_TRACEPARENT, type SegmentMembershipChange } from '@mosaic/contracts';
import { ProducerUnavailableError, TRACING_OFF, computeBackoffMs, extractTraceContext, traceHeadersOf, type Tracing } from '@mosaic/shared-kafka';
import {
  classifyResponse,
  membershipPayload,
  serializePayload,
  type Destination,
  type EmailDestination,
  type MembershipPayload,
  type RetryPolicy,
  type Trigger,
} from '@mosaic/activation-domain';
import {
  OutboundGuard,
  postWebhook,
  type ActivationProfilesRepository,
  type DeliveriesRepository,
  type DeliveryAttempt,
  type DeliveryDocument,
  type DueShare,
} from '@mosaic/activation-data-access';

export interface DispatchDeliveriesOptions {
  deliveries: DeliveriesRepository;
  profiles: ActivationProfilesRepository;
  /** Destinations and triggers as held now (the ConfigCache). */
  config: { destination(id: string): Destination | undefined; destinations(): readonly Destination[]; triggers(): readonly Trigger[] };
  publishToTopic: (topic: string, key: string, value: string, headers: Record<string, string>) => Promise<void>;
  /** Sends an email destination's message (see SendEmail); without it, email deliveries fail. */
  sendEmail?: (
    dest: EmailDestination,
    delivery: DeliveryDocument,
    payload: MembershipPayload,
  ) => Promise<{ outcome: DeliveryAttempt['outcome']; status: string; error?: string }>;
  /** Produces a dead delivery's dead letter (rejects when Kafka is unavailable: a later flush tries again). */
  deadLetter: (d: DeliveryDocument, error: string) => Promise<void>;
  policy: RetryPolicy;
  /** Where webhooks may connect (default: public addresses only). */
  outbound?: OutboundGuard;
  clock?: () => number;
  random?: () => number;
  onAttempt?: (destinationId: string, attempt: DeliveryAttempt) => void;
  /** Deliveries read per tick, shared among the enabled destinations (default 200). */
  batch?: number;
  /** This instance, as the owner of its leases. */
  instanceId?: string;
  /** How long a claim holds a delivery: longer than any send can take (default 5 minutes); a crashed owner's delivery is sent again after it. */
  leaseMs?: number;
  /** A span per attempt, continuing the delivery's trace; its `traceparent` goes out with the webhook or record. Default off. */
  tracing?: Tracing;
}

interface AttemptOutcome {
  status: string;
  outcome: DeliveryAttempt['outcome'];
  retryAfter?: string;
  error?: string;
  /** False when the failure was Mosaic's own (its broker unavailable), not the destination's: the attempt is retried without using one up. */
  counts?: false;
}

interface Slots {
  active: number;
  tokens: number;
  refilledAt: number;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_LEASE_MS = 300_000;
/** How often dead letters left to produce are looked for, and the back-off after a failure to produce one (Kafka unavailable). */
const LETTER_FLUSH_MS = 5_000;
const LETTER_BACKOFF = { baseMs: LETTER_FLUSH_MS, maxMs: 300_000 };

/** A due delivery read by a tick, waiting for a slot of its destination. */
interface Waiting {
  delivery: DeliveryDocument;
  known: { profile: Record<string, unknown> | null; segments: string[] } | null;
  queriedAt: number;
}

export class DispatchDeliveries {
  private readonly inFlight = new Set<string>();
  /** When each recent send finished: a round whose query started before that read a stale copy of it. */
  private readonly finishedAt = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly slots = new Map<string, Slots>();
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly outbound: OutboundGuard;
  private readonly batch: number;
  private readonly owner: string;
  private readonly leaseMs: number;
  private pausedUntil = 0;
  private waiting: Waiting[] = [];
  /** When dead letters left to produce are looked for next, and the failures to produce one in a row. */
  private lettersAt = 0;
  private letterFailures = 0;
  private flushing = false;

  constructor(private readonly opts: DispatchDeliveriesOptions) {
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.outbound = opts.outbound ?? new OutboundGuard();
    this.batch = opts.batch ?? 200;
    this.owner = opts.instanceId ?? 'activation';
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Deliveries being sent now. */
  get active(): number {
    return this.inFlight.size;
  }

  /**
   * Reads the due deliveries of these partitions and starts those whose destination has a free
   * slot; the others wait for one (until the next tick replaces the list), so a finished send
   * starts the next at once instead of at the next round. Returns how many started now.
   */
  async tick(partitions: readonly number[]): Promise<number> {
    const queriedAt = this.clock();
    for (const [id, t] of this.finishedAt) if (t < queriedAt - 60_000) this.finishedAt.delete(id);
    const due = await this.opts.deliveries.due(this.shares(), partitions, new Date(queriedAt), this.inFlight);
    // the round's profiles in one query (payloads and the delayed-trigger check read them)
    const profiles = await this.opts.profiles.findByIds(due.map((d) => d.profileId));
    this.waiting = due.map((d) => ({ delivery: d, known: profiles.get(d.profileId) ?? null, queriedAt }));
    this.flushLetters(partitions);
    return this.startWaiting();
  }

  /**
   * Each enabled destination's share of a round: an even part of the batch, at least its
   * concurrency. A disabled or deleted destination's deliveries are not read at all.
   */
  private shares(): DueShare[] {
    const enabled = this.opts.config.destinations().filter((d) => d.enabled);
    const even = Math.floor(this.batch / Math.max(1, enabled.length));
    return enabled.map((d) => ({ destinationId: d.id, limit: Math.max(concurrencyOf(d), even) }));
  }

  /** Starts the waiting deliveries that have a free slot now; keeps the rest waiting. */
  private startWaiting(): number {
    let started = 0;
    const still: Waiting[] = [];
    for (const w of this.waiting) {
      const d = w.delivery;
      if (this.inFlight.has(d._id)) continue; // another round started it meanwhile
      if ((this.finishedAt.get(d._id) ?? -Infinity) >= w.queriedAt) continue; // sent since it was read
      const dest = this.opts.config.destination(d.destinationId);
      if (!dest || !dest.enabled) continue; // a disabled destination keeps its deliveries pending
      if (!this.take(dest)) {
        still.push(w);
        continue;
      }
      started += 1;
      this.start(d, dest, w.known);
    }
    this.waiting = still;
    return started;
  }

  private start(d: DeliveryDocument, dest: Destination, known: Waiting['known']): void {
    this.inFlight.add(d._id);
    const p = this.send(d, dest, known)
      .catch(() => undefined)
      .finally(() => {
        this.finishedAt.set(d._id, this.clock());
        this.inFlight.delete(d._id);
        this.release(dest.id);
        this.running.delete(p);
        this.startWaiting();
      });
    this.running.add(p);
  }

  /**
   * One dispatch round over these partitions (the ones this instance owns). A store that scans
   * for due deliveries (FerretDB) must not spend all its time doing so: the next round waits at
   * least three times as long as the last one's query took.
   */
  async round(partitions: readonly number[]): Promise<number> {
    if (this.clock() < this.pausedUntil) return 0;
    const queried = this.clock();
    const started = await this.tick(partitions);
    this.pausedUntil = this.clock() + 3 * (this.clock() - queried);
    return started;
  }

  /** Starts nothing more and waits for the sends in flight (shutdown, tests). */
  async drain(): Promise<void> {
    this.waiting = [];
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private take(dest: Destination): boolean {
    const now = this.clock();
    const limit = concurrencyOf(dest);
    const rate = dest.kind === 'webhook' ? dest.rateLimitPerSecond : undefined;
    const s = this.slots.get(dest.id) ?? { active: 0, tokens: rate ?? 0, refilledAt: now };
    this.slots.set(dest.id, s);
    if (s.active >= limit) return false;
    if (rate !== undefined) {
      s.tokens = Math.min(rate, s.tokens + ((now - s.refilledAt) / 1000) * rate);
      s.refilledAt = now;
      if (s.tokens < 1) return false;
      s.tokens -= 1;
    }
    s.active += 1;
    return true;
  }

  private release(id: string): void {
    const s = this.slots.get(id);
    if (s) s.active = Math.max(0, s.active - 1);
  }

  /** Whether a delivery's trigger still wants it: a delayed `entered` whose profile left (or `exited` that came back) is skipped. */
  private stillWanted(d: DeliveryDocument, segments: readonly string[]): boolean {
    const trigger = this.opts.config.triggers().find((t) => t.id === d.triggerId);
    if (!trigger?.delaySeconds) return true;
    return d.change === 'entered' ? segments.includes(d.segmentKey) : !segments.includes(d.segmentKey);
  }

  /** Claims the delivery, then sends it once and records the outcome (unless another instance claimed it since it was read). */
  private async send(read: DeliveryDocument, dest: Destination, known: Waiting['known']): Promise<void> {
    const d = await this.opts.deliveries.claim(read, this.owner, new Date(this.clock()), this.leaseMs);
    if (!d) return; // claimed or finished elsewhere since it was read
    if (!this.stillWanted(d, known?.segments ?? [])) {
      await this.opts.deliveries.skip(d, 'the membership changed back before the delayed delivery was due');
      return;
    }
    const { attempt, retryAfter, counts } = await this.attemptOnce(d, dest, known);
    this.opts.onAttempt?.(dest.id, attempt);
    await this.record(d, attempt, counts === false ? d.attempts : d.attempts + 1, retryAfter);
  }

  /** One attempt, in its span when tracing: the attempt as logged, and what decides the next one. */
  private async attemptOnce(
    d: DeliveryDocument,
    dest: Destination,
    known: Waiting['known'],
  ): Promise<{ attempt: DeliveryAttempt; retryAfter?: string; counts?: false }> {
    const change = JSON.parse(d.membership) as SegmentMembershipChange;
    const profile = known?.profile as { traits?: Record<string, unknown>; computed?: Record<string, unknown> } | null | undefined;
    const payload = membershipPayload(change, { id: d._id, profile: profile ? { traits: profile.traits ?? {}, computed: profile.computed ?? {} } : undefined });
    const body = serializePayload(payload);
    const started = this.clock();
    const span = this.startSpan(d, dest);
    const { status, retryAfter, error, outcome, counts } = await (span
      ? context.with(trace.setSpan(context.active(), span), () => this.attempt(d, dest, body, payload, started, traceHeadersOf(span)))
      : this.attempt(d, dest, body, payload, started, {}));
    if (span) endSpan(span, status, outcome, error);
    const now = this.clock();
    const attempt: DeliveryAttempt = { at: new Date(now), outcome, status, ms: now - started, ...(error ? { error } : {}) };
    return { attempt, ...(retryAfter !== undefined ? { retryAfter } : {}), ...(counts === false ? { counts } : {}) };
  }

  /** Records the attempt's outcome, if this instance still holds the claim. */
  private async record(d: DeliveryDocument, attempt: DeliveryAttempt, attempts: number, retryAfter: string | undefined): Promise<void> {
    const { deliveries, policy } = this.opts;
    if (attempt.outcome === 'delivered') {
      await deliveries.recordAttempt(d, attempt, { status: 'delivered', nextAttemptAt: null, attempts, deliveredAt: attempt.at });
      return;
    }
    const next = attempt.outcome === 'retry' ? policy.nextAttemptAt(Math.max(attempts, 1), attempt.at.getTime(), this.random, retryAfter) : undefined;
    if (next !== undefined) {
      await deliveries.recordAttempt(d, attempt, { status: 'pending', nextAttemptAt: new Date(next), attempts });
      return;
    }
    // Dead: the status is stored before the letter is produced, so a letter that cannot be
    // produced now (Kafka unavailable) leaves a dead delivery to letter later, never a pending
    // one that every round would send to the endpoint again.
    const dead = await deliveries.recordAttempt(d, attempt, { status: 'dead', nextAttemptAt: null, attempts, deadLetterDue: true });
    if (dead) await this.letter(dead);
  }

  /** Produces a dead delivery's letter, then clears its flag. False when it could not: the flag stays, and a flush tries later, backing off. */
  private async letter(d: DeliveryDocument): Promise<boolean> {
    try {
      await this.opts.deadLetter(d, deathReason(d));
    } catch {
      this.letterFailures += 1;
      this.lettersAt = this.clock() + computeBackoffMs(this.letterFailures, LETTER_BACKOFF, this.random);
      return false;
    }
    this.letterFailures = 0;
    await this.opts.deliveries.deadLettered(d);
    return true;
  }

  /**
   * Produces, in the background, the dead letters of these partitions left to produce (Kafka was
   * unavailable when they died, or their instance stopped first): at most every LETTER_FLUSH_MS,
   * and backing off while producing fails. Drained with the sends.
   */
  private flushLetters(partitions: readonly number[]): void {
    if (this.flushing || this.clock() < this.lettersAt) return;
    this.lettersAt = this.clock() + LETTER_FLUSH_MS;
    this.flushing = true;
    const p: Promise<void> = this.produceLetters(partitions)
      .catch(() => undefined)
      .finally(() => {
        this.flushing = false;
        this.running.delete(p);
      });
    this.running.add(p);
  }

  private async produceLetters(partitions: readonly number[]): Promise<void> {
    for (const d of await this.opts.deliveries.deadLettersDue(partitions, this.batch)) {
      if (this.inFlight.has(d._id)) continue; // dying now: its send letters it
      if (!(await this.letter(d))) return;
    }
  }

  /** One attempt by the destination's kind; `trace`: the headers that carry the attempt's span. */
  private async attempt(
    d: DeliveryDocument,
    dest: Destination,
    body: string,
    payload: MembershipPayload,
    started: number,
    traceHeaders: Record<string, string>,
  ): Promise<AttemptOutcome> {
    if (dest.kind === 'webhook') {
      const r = await postWebhook(dest, d._id, body, Math.floor(started / 1000), this.outbound, traceHeaders);
      return {
        status: String(r.status),
        outcome: classifyResponse(r.status),
        ...(r.retryAfter !== undefined ? { retryAfter: r.retryAfter } : {}),
        ...(r.error !== undefined ? { error: r.error } : {}),
      };
    }
    try {
      if (dest.kind === 'kafka') {
        await this.opts.publishToTopic(dest.topic, d.profileId, body, { 'webhook-id': d._id, 'content-type': 'application/json', ...traceHeaders });
        return { status: 'produced', outcome: 'delivered' };
      }
      if (!this.opts.sendEmail) return { status: 'unsupported', error: 'no email sender is configured', outcome: 'fail' };
      return await this.opts.sendEmail(dest, d, payload);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      // Mosaic's own Kafka being away (or too busy to acknowledge in time) says nothing about a Kafka destination,
      // and dead-lettering would need that same Kafka: the delivery waits for it instead.
      if (dest.kind === 'kafka' && err instanceof ProducerUnavailableError) return { status: 'broker unavailable', error, outcome: 'retry', counts: false };
      return { status: 'error', error, outcome: 'retry' };
    }
  }

  /** The span of one attempt, a child of the span that consumed the membership change; undefined when not tracing. */
  private startSpan(d: DeliveryDocument, dest: Destination): Span | undefined {
    const tracing = this.opts.tracing ?? TRACING_OFF;
    if (!tracing.enabled) return undefined;
    const parent = d.traceparent ? extractTraceContext({ [HEADER_TRACEPARENT]: d.traceparent }) : context.active();
    return tracing.tracer.startSpan(
      `deliver ${dest.kind}`,
      {
        kind: dest.kind === 'kafka' ? SpanKind.PRODUCER : SpanKind.CLIENT,
        attributes: {
          'mosaic.delivery.id': d._id,
          'mosaic.destination.id': dest.id,
          'mosaic.delivery.attempt': d.attempts + 1,
          'mosaic.segment.key': d.segmentKey,
          'mosaic.membership.change': d.change,
        },
      },
      parent,
    );
  }
}

function concurrencyOf(dest: Destination): number {
  return dest.kind === 'webhook' ? dest.concurrency : DEFAULT_CONCURRENCY;
}

/** Why a dead delivery died, from its last attempt: its dead letter's error. */
function deathReason(d: DeliveryDocument): string {
  const last = d.log[d.log.length - 1];
  const what = `${last?.status ?? 'unknown'}${last?.error ? ` ${last.error}` : ''}`;
  return `${last?.outcome === 'fail' ? 'permanent failure' : `gave up after ${d.attempts} attempts`}: ${what}`;
}

function endSpan(span: Span, status: string, outcome: DeliveryAttempt['outcome'], error: string | undefined): void {
  span.setAttribute('mosaic.delivery.outcome', outcome);
  span.setAttribute('mosaic.delivery.status', status);
  if (/^\d{3}$/.test(status)) span.setAttribute('http.response.status_code', Number(status));
  if (outcome !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
  span.end();
}
