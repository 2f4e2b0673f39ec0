/**
 * Sends due deliveries. Each instance dispatches the deliveries of the `segments.membership`
 * partitions it owns (so no two instances send the same delivery), every destination with its
 * own concurrency slots and rate limit: a slow or failing endpoint only ever occupies its own
 * slots, never another destination's. Outcomes: 2xx delivered; 408/409/425/429/5xx/timeouts/
 * network errors retried with exponential back-off and full jitter (honouring Retry-After);
 * other 4xx fail at once, and so does a destination whose host or resolved address the outbound
 * policy refuses (`blocked`); after the last attempt the delivery is dead (and dead-lettered).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { HEADER_TRACEPARENT, type SegmentMembershipChange } from '@mosaic/contracts';
import { TRACING_OFF, extractTraceContext, traceHeadersOf, type Tracing } from '@mosaic/shared-kafka';
import { classifyResponse, membershipPayload, serializePayload, sign, webhookHeaders, type Destination, type EmailDestination, type MembershipPayload, type AttemptResult, type RetryPolicy, type WebhookDestination } from '@mosaic/activation-domain';
import type { DeliveryAttempt, DeliveryDocument } from './documents';
import { isOutboundBlocked, OutboundGuard } from './outbound';
import type { ActivationStore } from './stores';

export interface DispatcherOptions {
  store: ActivationStore;
  destination: (id: string) => Destination | undefined;
  /** Whether a delivery's trigger still wants it (a delayed `entered` whose profile left is skipped). */
  stillWanted?: (d: DeliveryDocument, profileSegments: readonly string[]) => boolean;
  publishToTopic: (topic: string, key: string, value: string, headers: Record<string, string>) => Promise<void>;
  /** Sends an email destination's message (see EmailSender); without it, email deliveries fail. */
  sendEmail?: (dest: EmailDestination, delivery: DeliveryDocument, payload: MembershipPayload) => Promise<{ outcome: DeliveryAttempt['outcome']; status: string; error?: string }>;
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
}

interface Slots {
  active: number;
  tokens: number;
  refilledAt: number;
}

const DEFAULT_CONCURRENCY = 4;

export class Dispatcher {
  private readonly inFlight = new Set<string>();
  /** When each recent send finished: a round whose query started before that read a stale copy of it. */
  private readonly finishedAt = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly slots = new Map<string, Slots>();
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly outbound: OutboundGuard;

  constructor(private readonly opts: DispatcherOptions) {
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.outbound = opts.outbound ?? new OutboundGuard();
  }

  /** Deliveries being sent now. */
  get active(): number {
    return this.inFlight.size;
  }

  /** Starts the due deliveries of these partitions that have a free slot; returns how many started. */
  async tick(partitions: readonly number[]): Promise<number> {
    const queriedAt = this.clock();
    for (const [id, t] of this.finishedAt) if (t < queriedAt - 60_000) this.finishedAt.delete(id);
    const due = await this.opts.store.due(partitions, new Date(queriedAt), this.opts.batch ?? 200, this.inFlight);
    let started = 0;
    // the round's profiles in one query (payloads and the delayed-trigger check read them)
    const profiles = await this.opts.store.profilesByIds(due.map((d) => d.profileId));
    for (const d of due) {
      if (this.inFlight.has(d._id)) continue; // another round started it meanwhile
      if ((this.finishedAt.get(d._id) ?? -Infinity) >= queriedAt) continue; // sent while this round was reading
      const dest = this.opts.destination(d.destinationId);
      if (!dest || !dest.enabled) continue; // a disabled destination keeps its deliveries pending
      if (!this.take(dest)) continue;
      started += 1;
      this.inFlight.add(d._id);
      const p = this.send(d, dest, profiles.get(d.profileId) ?? null)
        .catch(() => undefined)
        .finally(() => {
          this.finishedAt.set(d._id, this.clock());
          this.inFlight.delete(d._id);
          this.release(dest.id);
          this.running.delete(p);
        });
      this.running.add(p);
    }
    return started;
  }

  /** Waits for the sends in flight (shutdown, tests). */
  async drain(): Promise<void> {
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

  private async send(d: DeliveryDocument, dest: Destination, known: { profile: Record<string, unknown> | null; segments: string[] } | null): Promise<void> {
    const change = JSON.parse(d.membership) as SegmentMembershipChange;
    if (this.opts.stillWanted && !this.opts.stillWanted(d, known?.segments ?? [])) {
      await this.opts.store.skip(d._id, 'the membership changed back before the delayed delivery was due');
      return;
    }
    const profile = known?.profile as { traits?: Record<string, unknown>; computed?: Record<string, unknown> } | null | undefined;
    const payload = membershipPayload(change, { id: d._id, profile: profile ? { traits: profile.traits ?? {}, computed: profile.computed ?? {} } : undefined });
    const body = serializePayload(payload);
    const started = this.clock();
    const span = this.startSpan(d, dest);
    const { status, retryAfter, error, outcome } = await (span
      ? context.with(trace.setSpan(context.active(), span), () => this.attempt(d, dest, body, payload, started, traceHeadersOf(span)))
      : this.attempt(d, dest, body, payload, started, {}));
    if (span) endSpan(span, status, outcome, error);
    const now = this.clock();
    const attempt: DeliveryAttempt = { at: new Date(now), outcome, status, ms: now - started, ...(error ? { error } : {}) };
    this.opts.onAttempt?.(dest.id, attempt);
    const attempts = d.attempts + 1;
    if (outcome === 'delivered') {
      await this.opts.store.recordAttempt(d._id, attempt, { status: 'delivered', nextAttemptAt: null, attempts, deliveredAt: new Date(now) });
      return;
    }
    const next = outcome === 'retry' ? this.opts.policy.nextAttemptAt(attempts, now, this.random, retryAfter) : undefined;
    if (next !== undefined) {
      await this.opts.store.recordAttempt(d._id, attempt, { status: 'pending', nextAttemptAt: new Date(next), attempts });
      return;
    }
    const why = `${outcome === 'fail' ? 'permanent failure' : `gave up after ${attempts} attempts`}: ${status}${error ? ` ${error}` : ''}`;
    await this.opts.deadLetter({ ...d, attempts }, why);
    await this.opts.store.recordAttempt(d._id, attempt, { status: 'dead', nextAttemptAt: null, attempts });
  }

  /** One attempt by the destination's kind; `trace`: the headers that carry the attempt's span. */
  private async attempt(d: DeliveryDocument, dest: Destination, body: string, payload: MembershipPayload, started: number, traceHeaders: Record<string, string>): Promise<AttemptOutcome> {
    if (dest.kind === 'webhook') {
      const r = await postWebhook(dest, d._id, body, Math.floor(started / 1000), this.outbound, traceHeaders);
      return { status: String(r.status), outcome: classifyResponse(r.status), ...(r.retryAfter !== undefined ? { retryAfter: r.retryAfter } : {}), ...(r.error !== undefined ? { error: r.error } : {}) };
    }
    try {
      if (dest.kind === 'kafka') {
        await this.opts.publishToTopic(dest.topic, d.profileId, body, { 'webhook-id': d._id, 'content-type': 'application/json', ...traceHeaders });
        return { status: 'produced', outcome: 'delivered' };
      }
      if (!this.opts.sendEmail) return { status: 'unsupported', error: 'no email sender is configured', outcome: 'fail' };
      return await this.opts.sendEmail(dest, d, payload);
    } catch (err) {
      return { status: 'error', error: err instanceof Error ? err.message : String(err), outcome: 'retry' };
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
        attributes: { 'mosaic.delivery.id': d._id, 'mosaic.destination.id': dest.id, 'mosaic.delivery.attempt': d.attempts + 1, 'mosaic.segment.key': d.segmentKey, 'mosaic.membership.change': d.change },
      },
      parent,
    );
  }
}

/** What one webhook POST came to. */
export interface WebhookResult {
  status: AttemptResult;
  retryAfter?: string;
  error?: string;
}

/**
 * One signed POST (Standard Webhooks headers); never throws. It connects only to addresses the
 * outbound guard checked (`blocked` otherwise); redirects are not followed.
 */
export async function postWebhook(
  target: Pick<WebhookDestination, 'url' | 'secret' | 'headers' | 'timeoutMs'>,
  id: string,
  body: string,
  timestamp: number,
  outbound: OutboundGuard = new OutboundGuard(),
  traceHeaders: Record<string, string> = {},
): Promise<WebhookResult> {
  const signature = sign({ id, timestamp, body, secret: target.secret ?? '' });
  const headers = { 'content-type': 'application/json', 'user-agent': 'Mosaic-Webhooks/1', ...(target.headers ?? {}), ...traceHeaders, ...webhookHeaders({ id, timestamp, signature }), 'content-length': String(Buffer.byteLength(body)) };
  let url: URL;
  try {
    url = new URL(target.url);
    outbound.checkHost(url.hostname); // a literal address is connected without a lookup
  } catch (err) {
    return failure(err, target.timeoutMs, false);
  }
  const signal = AbortSignal.timeout(target.timeoutMs);
  const https = url.protocol === 'https:';
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: WebhookResult) => {
      if (!settled) resolve(r);
      settled = true;
    };
    const answered = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const retryAfter = res.headers['retry-after'];
      const result: WebhookResult = { status, ...(retryAfter !== undefined ? { retryAfter } : {}), ...(status >= 300 ? { error: `HTTP ${status}` } : {}) };
      res.on('error', () => undefined); // the status is known: an interrupted body does not change it
      res.on('end', () => settle(result));
      res.on('close', () => settle(result));
      res.resume(); // drain: keeps the connection reusable
    };
    const options = { method: 'POST', headers, signal, lookup: outbound.lookup, agent: https ? outbound.httpsAgent : outbound.httpAgent };
    const req = https ? httpsRequest(url, options, answered) : httpRequest(url, options, answered);
    req.on('error', (err) => settle(failure(err, target.timeoutMs, signal.aborted)));
    req.end(body);
  });
}

function endSpan(span: Span, status: string, outcome: DeliveryAttempt['outcome'], error: string | undefined): void {
  span.setAttribute('mosaic.delivery.outcome', outcome);
  span.setAttribute('mosaic.delivery.status', status);
  if (/^\d{3}$/.test(status)) span.setAttribute('http.response.status_code', Number(status));
  if (outcome !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
  span.end();
}

function failure(err: unknown, timeoutMs: number, timedOut: boolean): WebhookResult {
  if (isOutboundBlocked(err)) return { status: 'blocked', error: err.message };
  const e = err as Error & { code?: string; cause?: { code?: string } };
  if (timedOut || e.name === 'TimeoutError' || e.name === 'AbortError') return { status: 'timeout', error: `no answer within ${timeoutMs} ms` };
  return { status: 'network', error: e.code ?? e.cause?.code ?? e.message };
}
