/**
 * Sends due deliveries. Each instance dispatches the deliveries of the `segments.membership`
 * partitions it owns (so no two instances send the same delivery), every destination with its
 * own concurrency slots and rate limit: a slow or failing endpoint only ever occupies its own
 * slots, never another destination's. Outcomes: 2xx delivered; 408/409/425/429/5xx/timeouts/
 * network errors retried with exponential back-off and full jitter (honouring Retry-After);
 * other 4xx fail at once, and so does a destination whose host or resolved address the outbound
 * policy refuses (`blocked`); after the last attempt the delivery is dead (and dead-lettered).
 */
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { HEADER_TRACEPARENT, type SegmentMembershipChange } from '@mosaic/contracts';
import { ProducerUnavailableError, TRACING_OFF, extractTraceContext, traceHeadersOf, type Tracing } from '@mosaic/shared-kafka';
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
} from '@mosaic/activation-data-access';

export interface DispatchDeliveriesOptions {
  deliveries: DeliveriesRepository;
  profiles: ActivationProfilesRepository;
  /** Destinations and triggers as held now (the ConfigCache). */
  config: { destination(id: string): Destination | undefined; triggers(): readonly Trigger[] };
  publishToTopic: (topic: string, key: string, value: string, headers: Record<string, string>) => Promise<void>;
  /** Sends an email destination's message (see SendEmail); without it, email deliveries fail. */
  sendEmail?: (
    dest: EmailDestination,
    delivery: DeliveryDocument,
    payload: MembershipPayload,
  ) => Promise<{ outcome: DeliveryAttempt['outcome']; status: string; error?: string }>;
  deadLetter: (d: DeliveryDocument, error: string) => Promise<void>;
  policy: RetryPolicy;
  /** Where webhooks may connect (default: public addresses only). */
  outbound?: OutboundGuard;
  clock?: () => number;
  random?: () => number;
  onAttempt?: (destinationId: string, attempt: DeliveryAttempt) => void;
  /** Deliveries read per tick (default 200). */
  batch?: number;
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
  private pausedUntil = 0;
  private waiting: Waiting[] = [];

  constructor(private readonly opts: DispatchDeliveriesOptions) {
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.outbound = opts.outbound ?? new OutboundGuard();
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
    const due = await this.opts.deliveries.due(partitions, new Date(queriedAt), this.opts.batch ?? 200, this.inFlight);
    // the round's profiles in one query (payloads and the delayed-trigger check read them)
    const profiles = await this.opts.profiles.findByIds(due.map((d) => d.profileId));
    this.waiting = due.map((d) => ({ delivery: d, known: profiles.get(d.profileId) ?? null, queriedAt }));
    return this.startWaiting();
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
    const limit = dest.kind === 'webhook' ? dest.concurrency : DEFAULT_CONCURRENCY;
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

  private async send(d: DeliveryDocument, dest: Destination, known: { profile: Record<string, unknown> | null; segments: string[] } | null): Promise<void> {
    const change = JSON.parse(d.membership) as SegmentMembershipChange;
    if (!this.stillWanted(d, known?.segments ?? [])) {
      await this.opts.deliveries.skip(d._id, 'the membership changed back before the delayed delivery was due');
      return;
    }
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
    this.opts.onAttempt?.(dest.id, attempt);
    const attempts = counts === false ? d.attempts : d.attempts + 1;
    if (outcome === 'delivered') {
      await this.opts.deliveries.recordAttempt(d._id, attempt, { status: 'delivered', nextAttemptAt: null, attempts, deliveredAt: new Date(now) });
      return;
    }
    const next = outcome === 'retry' ? this.opts.policy.nextAttemptAt(Math.max(attempts, 1), now, this.random, retryAfter) : undefined;
    if (next !== undefined) {
      await this.opts.deliveries.recordAttempt(d._id, attempt, { status: 'pending', nextAttemptAt: new Date(next), attempts });
      return;
    }
    const why = `${outcome === 'fail' ? 'permanent failure' : `gave up after ${attempts} attempts`}: ${status}${error ? ` ${error}` : ''}`;
    await this.opts.deadLetter({ ...d, attempts }, why);
    await this.opts.deliveries.recordAttempt(d._id, attempt, { status: 'dead', nextAttemptAt: null, attempts });
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

function endSpan(span: Span, status: string, outcome: DeliveryAttempt['outcome'], error: string | undefined): void {
  span.setAttribute('mosaic.delivery.outcome', outcome);
  span.setAttribute('mosaic.delivery.status', status);
  if (/^\d{3}$/.test(status)) span.setAttribute('http.response.status_code', Number(status));
  if (outcome !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
  span.end();
}
