/**
 * The events the email tracking endpoints record (Segment's Email spec names):
 * `Email Opened` and `Email Link Clicked`, `track` events of the source named in the token.
 *
 * Identity: `userId` and `anonymousId` from the token; the email address goes into
 * `context.traits.email`, where identity resolution reads identifiers. The events.raw
 * contract needs a `userId` or an `anonymousId`; for a recipient known only by email the
 * anonymousId is derived from the normalised address (`eml-` + 32 hex of its SHA-256), so
 * every email event of that person carries the same one and lands on one partition.
 *
 * DECISION — messageIds are deterministic, so that repeated loads are one event but real
 * re-opens are new ones, on every instance alike (downstream stages de-duplicate by
 * messageId, so this also holds across collector instances and restarts):
 * - open:  `eo-` + sha256(token | 5-minute bucket of the receive time | machine flag)
 * - click: `ec-` + sha256(token | 1-minute bucket | machine flag)
 * The pixel is fetched again each time a client re-renders the message (scrolling, switching
 * folders); 5 minutes folds that into one open while an open an hour later counts again.
 * Bucket edges can split one viewing into two opens, at most one extra per edge. The machine
 * flag is part of the id so a scanner's open at delivery never swallows the person's own
 * open in the same bucket.
 */
import { createHash } from 'node:crypto';
import type { EmailTokenClaims } from './email-token';
import type { MachineVerdict } from './machine-activity';
import { validateMessage, type NormalizedEvent, type RequestInfo } from './message';
import type { JsonObject } from './sanitize';

export const EMAIL_OPENED = 'Email Opened';
export const EMAIL_LINK_CLICKED = 'Email Link Clicked';
export const OPEN_DEDUP_BUCKET_MS = 5 * 60_000;
export const CLICK_DEDUP_BUCKET_MS = 60_000;

/** The anonymousId of a recipient known only by email. */
export function emailAnonymousId(normalizedEmail: string): string {
  return `eml-${createHash('sha256').update(normalizedEmail, 'utf8').digest('hex').slice(0, 32)}`;
}

/** The deterministic messageId of an open or click (see the file comment). */
export function emailEventMessageId(kind: 'open' | 'click', token: string, receivedAtMs: number, machine: boolean): string {
  const bucketMs = kind === 'open' ? OPEN_DEDUP_BUCKET_MS : CLICK_DEDUP_BUCKET_MS;
  const bucket = Math.floor(receivedAtMs / bucketMs);
  const digest = createHash('sha256')
    .update(`${token}|${bucket}|${machine ? 1 : 0}`, 'utf8')
    .digest('hex')
    .slice(0, 32);
  return `${kind === 'open' ? 'eo' : 'ec'}-${digest}`;
}

/** The key `EmailActivityMemory` uses for one recipient of one email send. */
export function emailActivityKey(claims: EmailTokenClaims): string {
  const r = claims.recipient;
  return `${claims.sourceId}|${claims.emailId}|${r.userId ?? ''}|${r.anonymousId ?? ''}|${r.email ?? ''}`;
}

export interface EmailEventInput {
  claims: EmailTokenClaims;
  /** The token as received (part of the messageId). */
  token: string;
  verdict: MachineVerdict;
  receivedAt: Date;
  request: RequestInfo;
}

/**
 * Builds the normalised `Email Opened` / `Email Link Clicked` event through the same
 * validation as every other message (so it satisfies the events.raw contract).
 * @throws Error if the claims do not make a valid message (cannot happen for verified tokens).
 */
export function buildEmailEvent(input: EmailEventInput): NormalizedEvent {
  const { claims, verdict } = input;
  const properties: JsonObject = { campaign: claims.campaign, email_id: claims.emailId };
  if (claims.kind === 'click' && claims.url !== undefined) properties['url'] = claims.url;
  properties['machine'] = verdict.machine;
  properties['machine_reason'] = verdict.reason;
  if (verdict.proxy) properties['proxy'] = verdict.proxy;
  const message: Record<string, unknown> = {
    event: claims.kind === 'open' ? EMAIL_OPENED : EMAIL_LINK_CLICKED,
    messageId: emailEventMessageId(claims.kind, input.token, input.receivedAt.getTime(), verdict.machine),
    properties,
    context: claims.recipient.email === undefined ? {} : { traits: { email: claims.recipient.email } },
  };
  if (claims.recipient.userId !== undefined) message['userId'] = claims.recipient.userId;
  const anonymousId =
    claims.recipient.anonymousId ??
    (claims.recipient.userId === undefined && claims.recipient.email !== undefined ? emailAnonymousId(claims.recipient.email) : undefined);
  if (anonymousId !== undefined) message['anonymousId'] = anonymousId;
  const result = validateMessage(message, 'track', {
    sourceId: claims.sourceId,
    receivedAt: input.receivedAt,
    idGenerator: () => message['messageId'] as string,
    request: input.request,
  });
  if (!result.ok) throw new Error(`email event is invalid: ${result.error.path} ${result.error.message}`);
  return result.message;
}
