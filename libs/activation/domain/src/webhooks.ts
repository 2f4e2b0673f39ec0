/**
 * Standard Webhooks (https://www.standardwebhooks.com/, spec 1.0.0), symmetric scheme: a
 * secret `whsec_<base64 of 24–64 random bytes>`; the signature of a message is
 * `v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">` keyed with the decoded secret
 * bytes; the headers are `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature` (space-separated signatures, for secret rotation).
 *
 * `node:crypto` is computation, not I/O. No clock and no randomness are read here: `verify`
 * takes `now`, `generateSecret` takes the random bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The prefix of a serialized webhook secret. */
export const SECRET_PREFIX = 'whsec_';
/** The shortest secret the spec allows (192 bits). */
export const MIN_SECRET_BYTES = 24;
/** The longest secret accepted (512 bits). */
export const MAX_SECRET_BYTES = 64;
/** The default allowed distance between `webhook-timestamp` and the verifier's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** The identifier of symmetric (HMAC-SHA256) signatures. */
export const SIGNATURE_VERSION = 'v1';

/** The three Standard Webhooks headers. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** What `sign` signs. */
export interface SignInput {
  /** The message id (the same on every retry; no `.`, no whitespace). */
  id: string;
  /** The time of the attempt, in unix seconds (an integer). */
  timestamp: number;
  /** The exact body sent: the bytes signed must be the bytes sent. */
  body: string | Uint8Array;
  /** `whsec_…` */
  secret: string;
}

/** Why a webhook did not verify. */
export type VerifyFailure =
  'missing-id' | 'missing-timestamp' | 'missing-signature' | 'invalid-timestamp' | 'timestamp-too-old' | 'timestamp-too-new' | 'no-matching-signature';

/** The outcome of `verify`: the message id and timestamp, or why it failed. */
export type VerifyResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: VerifyFailure; message: string };

/** Request headers as a server sees them (any case; repeated headers as arrays). */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

const ID_RE = /^[\x21-\x2d\x2f-\x7e]{1,256}$/; // printable ASCII without '.' and space
const TIMESTAMP_RE = /^\d{1,15}$/;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

function canonicalBase64(text: string): Buffer | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function secretBytesOf(secret: string): Buffer | undefined {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) return undefined;
  const bytes = canonicalBase64(secret.slice(SECRET_PREFIX.length));
  return bytes && bytes.length >= MIN_SECRET_BYTES && bytes.length <= MAX_SECRET_BYTES ? bytes : undefined;
}

/** Whether `secret` is `whsec_` followed by canonical base64 of 24–64 bytes. */
export function isWebhookSecret(secret: unknown): secret is string {
  return typeof secret === 'string' && secretBytesOf(secret) !== undefined;
}

/** The key bytes of a `whsec_` secret; throws a TypeError naming the rule when it is malformed. */
export function decodeSecret(secret: string): Buffer {
  const bytes = secretBytesOf(secret);
  if (!bytes) throw new TypeError(`a webhook secret must be ${SECRET_PREFIX} followed by base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`);
  return bytes;
}

/** A new secret from caller-supplied random bytes (24–64 of them; 24 or 32 is usual). */
export function generateSecret(randomBytes: Uint8Array): string {
  if (randomBytes.length < MIN_SECRET_BYTES || randomBytes.length > MAX_SECRET_BYTES) {
    throw new RangeError(`a webhook secret needs ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes, got ${randomBytes.length}`);
  }
  return SECRET_PREFIX + Buffer.from(randomBytes).toString('base64');
}

function mac(key: Buffer, id: string, timestamp: number | string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

/**
 * The `webhook-signature` value (`v1,<base64>`) of one message under one secret. Throws on a
 * malformed secret, an id with `.`/whitespace/non-ASCII, or a timestamp that is not a
 * non-negative integer (those would make the signed content ambiguous).
 */
export function sign(input: SignInput): string {
  const key = decodeSecret(input.secret);
  if (typeof input.id !== 'string' || !ID_RE.test(input.id)) throw new TypeError('a webhook id must be 1–256 printable ASCII characters without "." or spaces');
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) throw new TypeError('a webhook timestamp must be a non-negative integer of unix seconds');
  return `${SIGNATURE_VERSION},${mac(key, input.id, input.timestamp, input.body).toString('base64')}`;
}

/** The headers to send: several signatures (one per active secret, for rotation) are joined by spaces. */
export function webhookHeaders(input: { id: string; timestamp: number; signature: string | readonly string[] }): WebhookHeaders {
  const signature = typeof input.signature === 'string' ? input.signature : input.signature.join(' ');
  return { 'webhook-id': input.id, 'webhook-timestamp': String(input.timestamp), 'webhook-signature': signature };
}

function header(headers: HeaderBag, name: string, joinRepeated: boolean): string | undefined {
  let value: string | readonly string[] | undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) value = v;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') value = joinRepeated || value.length === 1 ? value.join(' ') : undefined;
  return value?.trim() || undefined;
}

const failure = (reason: VerifyFailure, message: string): VerifyResult => ({ ok: false, reason, message });

/** The decoded `v1` signatures of a `webhook-signature` header (other versions are skipped). */
export function parseSignatures(value: string): Buffer[] {
  const out: Buffer[] = [];
  for (const token of value.split(' ')) {
    const comma = token.indexOf(',');
    if (comma < 0 || token.slice(0, comma) !== SIGNATURE_VERSION) continue;
    const bytes = canonicalBase64(token.slice(comma + 1));
    if (bytes) out.push(bytes);
  }
  return out;
}

function checkTimestamp(text: string, now: number, toleranceSeconds: number): VerifyResult | number {
  if (!TIMESTAMP_RE.test(text))
    return failure('invalid-timestamp', `webhook-timestamp must be an integer of unix seconds, got ${JSON.stringify(text.slice(0, 40))}`);
  const timestamp = Number(text);
  const nowSeconds = Math.floor(now / 1000);
  if (timestamp < nowSeconds - toleranceSeconds)
    return failure('timestamp-too-old', `webhook-timestamp is ${nowSeconds - timestamp} s old (tolerance ${toleranceSeconds} s)`);
  if (timestamp > nowSeconds + toleranceSeconds)
    return failure('timestamp-too-new', `webhook-timestamp is ${timestamp - nowSeconds} s in the future (tolerance ${toleranceSeconds} s)`);
  return timestamp;
}

function anyMatches(expected: readonly Buffer[], given: readonly Buffer[]): boolean {
  let matched = false;
  for (const e of expected) for (const g of given) if (g.length === e.length && timingSafeEqual(e, g)) matched = true;
  return matched;
}

/**
 * Verifies a received webhook against the receiver's secrets (several during a rotation):
 * the three headers present (any case), the timestamp within `toleranceSeconds` of `now`
 * (epoch **ms**), and at least one `v1` signature of the header matching one secret
 * (constant-time comparison; signatures of other versions are ignored). `body` must be the
 * raw body as received. A malformed secret throws (it is configuration, not input).
 */
export function verify(
  headers: HeaderBag,
  body: string | Uint8Array,
  secrets: readonly string[],
  now: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): VerifyResult {
  const keys = secrets.map(decodeSecret);
  const id = header(headers, 'webhook-id', false);
  if (id === undefined) return failure('missing-id', 'the webhook-id header is missing');
  const timestampText = header(headers, 'webhook-timestamp', false);
  if (timestampText === undefined) return failure('missing-timestamp', 'the webhook-timestamp header is missing');
  const signatureText = header(headers, 'webhook-signature', true);
  if (signatureText === undefined) return failure('missing-signature', 'the webhook-signature header is missing');
  const timestamp = checkTimestamp(timestampText, now, toleranceSeconds);
  if (typeof timestamp !== 'number') return timestamp;
  const given = parseSignatures(signatureText);
  if (given.length === 0) return failure('missing-signature', `the webhook-signature header has no ${SIGNATURE_VERSION} signature`);
  const expected = keys.map((k) => mac(k, id, timestampText, body));
  if (!anyMatches(expected, given)) return failure('no-matching-signature', 'no signature matches any of the secrets');
  return { ok: true, id, timestamp };
}
