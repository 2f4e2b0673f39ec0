/**
 * Signed email tracking tokens (open pixel and click links).
 *
 * FORMAT — `<payload>.<kid>.<mac>`, all URL-safe (`[A-Za-z0-9_-]` and dots):
 * - `payload`: base64url (no padding) of a compact JSON object
 *   `{"v":1,"t":"o"|"c","s":sourceId,"u"?:userId,"e"?:email,"a"?:anonymousId,
 *     "c":campaign,"m":emailId,"l"?:url,"i":issuedAt,"x":expiresAt}` (times in epoch seconds);
 * - `kid`: the id of the signing key (`[A-Za-z0-9_-]{1,16}`), so keys can be rotated;
 * - `mac`: the first 16 bytes (128 bits) of HMAC-SHA256(secret, `mosaic-email.v1.<kid>.<payload>`),
 *   base64url (22 characters). The `mosaic-email.v1.` prefix separates these MACs from any
 *   other use of the same secret.
 * The payload is signed, not encrypted: whoever holds a link can read the recipient's ids
 * and email address in it (as with the recipient's own copy of the email). Do not put
 * secrets in tokens.
 *
 * ROTATION — `COLLECTOR_EMAIL_SIGNING_KEYS` is a comma list `kid:secret,...`: the first key
 * signs, every key verifies. To rotate, put the new key first and keep the old one until
 * the links it signed have expired.
 *
 * VERIFICATION — the MAC is checked (constant-time) over the payload text *before* the
 * payload is decoded; then the claims are validated (kind, expiry, shape, and for clicks
 * an absolute http(s) URL). Anything else is refused with a reason; callers never act on
 * an unverified token (no open redirect).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from './limits';
import { isPlainObject } from './sanitize';

export type EmailTokenKind = 'open' | 'click';

/** Who the email was sent to. At least one field is set. */
export interface EmailRecipient {
  userId?: string;
  /** Normalised (trimmed, lower case). */
  email?: string;
  anonymousId?: string;
}

export interface EmailTokenClaims {
  kind: EmailTokenKind;
  /** The source the tracked events are recorded for. */
  sourceId: string;
  recipient: EmailRecipient;
  campaign: string;
  /** The id of this email send (one recipient, one message). */
  emailId: string;
  /** click only: where the link goes (absolute http/https, normalised). */
  url?: string;
  /** Epoch seconds. */
  issuedAt: number;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface SigningKey {
  kid: string;
  secret: string;
}

/** Shortest accepted secret, in UTF-8 bytes (HMAC-SHA256 keys should be ≥ the hash size). */
export const MIN_SIGNING_SECRET_BYTES = 32;
/** Longest URL a click token may carry. */
export const MAX_TRACKED_URL_LENGTH = 4096;
/** Longest token accepted (anything longer is malformed). */
export const MAX_EMAIL_TOKEN_LENGTH = 8192;
/** Longest email address (RFC 5321 path limit is 256; 320 is the usual upper bound). */
export const MAX_EMAIL_LENGTH = 320;
/** A token issued this far in the future (clock skew between instances) is still accepted. */
export const EMAIL_TOKEN_CLOCK_SKEW_SECONDS = 300;

const KID = /^[A-Za-z0-9_-]{1,16}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
const MAC_BYTES = 16;
const MAC_CHARS = 22;
const MAC_CONTEXT = 'mosaic-email.v1.';

/**
 * Parses `kid:secret,kid:secret` (the first key signs, all verify).
 * @returns the keys, or the problems (each naming the entry) when the spec is invalid.
 */
export function parseSigningKeys(spec: string): { ok: true; keys: SigningKey[] } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const keys: SigningKey[] = [];
  const entries = spec.split(',').map((s) => s.trim());
  if (entries.every((e) => e === '')) return { ok: false, problems: ['must list at least one kid:secret'] };
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1}`;
    if (entry === '') {
      problems.push(`${where} is empty`);
      return;
    }
    const colon = entry.indexOf(':');
    if (colon < 0) {
      problems.push(`${where} must be kid:secret`);
      return;
    }
    const kid = entry.slice(0, colon).trim();
    const secret = entry.slice(colon + 1).trim();
    if (!KID.test(kid)) problems.push(`${where}: key id "${kid}" must be 1-16 characters of A-Z a-z 0-9 _ -`);
    else if (keys.some((k) => k.kid === kid)) problems.push(`${where}: key id "${kid}" is listed twice`);
    const bytes = Buffer.byteLength(secret, 'utf8');
    if (bytes < MIN_SIGNING_SECRET_BYTES) problems.push(`${where} (${kid}): secret is ${bytes} bytes; at least ${MIN_SIGNING_SECRET_BYTES} are required`);
    keys.push({ kid, secret });
  });
  return problems.length ? { ok: false, problems } : { ok: true, keys };
}

/**
 * The development fallback when no keys are configured: a key derived from the admin
 * token (so every instance of one deployment derives the same key). Never for production.
 */
export function deriveDevSigningKey(adminToken: string): SigningKey {
  return { kid: 'dev', secret: createHmac('sha256', adminToken).update('mosaic email signing key (development fallback)').digest('hex') };
}

/** Trimmed, lower-cased email address (what tokens and `context.traits.email` carry). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A loose syntactic check: one `@`, something on both sides, no spaces, a dot-free local part allowed. */
export function isPlausibleEmail(email: string): boolean {
  return email.length <= MAX_EMAIL_LENGTH && /^[^\s@]+@[^\s@]+$/.test(email);
}

/**
 * The absolute http/https URL a click may redirect to, normalised by the WHATWG URL
 * parser (`new URL(raw).href`), or `undefined` when `raw` is anything else: relative or
 * protocol-relative (`//evil.example`), `javascript:`, `data:`, `mailto:`, empty, too long,
 * or without a host.
 */
export function toTrackableUrl(raw: string): string | undefined {
  const text = raw.trim();
  if (text === '' || text.length > MAX_TRACKED_URL_LENGTH) return undefined;
  if (!/^https?:\/\//i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return undefined;
  return url.href.length > MAX_TRACKED_URL_LENGTH ? undefined : url.href;
}

/**
 * A recipient from untrusted input (`{userId?, email?, anonymousId?}`; ids may be numbers).
 * Returns the normalised recipient or the problems.
 */
export function parseRecipient(input: unknown, path = 'recipient'): { ok: true; recipient: EmailRecipient } | { ok: false; problems: string[] } {
  if (!isPlainObject(input)) return { ok: false, problems: [`${path} must be an object with userId, email or anonymousId`] };
  const problems: string[] = [];
  const recipient: EmailRecipient = {};
  for (const field of ['userId', 'anonymousId'] as const) {
    const v = input[field];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'number' && Number.isFinite(v)) recipient[field] = String(v);
    else if (typeof v === 'string' && v.trim() !== '') recipient[field] = v;
    else {
      problems.push(`${path}.${field} must be a non-empty string`);
      continue;
    }
    if ((recipient[field] as string).length > MAX_ID_LENGTH) problems.push(`${path}.${field} must be at most ${MAX_ID_LENGTH} characters`);
  }
  const email = input['email'];
  if (email !== undefined && email !== null && email !== '') {
    if (typeof email !== 'string' || !isPlausibleEmail(normalizeEmail(email))) problems.push(`${path}.email must be an email address`);
    else recipient.email = normalizeEmail(email);
  }
  if (!problems.length && recipient.userId === undefined && recipient.email === undefined && recipient.anonymousId === undefined) {
    problems.push(`${path} needs at least one of userId, email, anonymousId`);
  }
  return problems.length ? { ok: false, problems } : { ok: true, recipient };
}

/** What `issue` needs; the signer adds the times. */
export interface IssueRequest {
  kind: EmailTokenKind;
  sourceId: string;
  recipient: EmailRecipient;
  campaign: string;
  emailId: string;
  /** click only. */
  url?: string;
  /** Lifetime in seconds (> 0). */
  ttlSeconds: number;
}

export type VerifyFailure = 'malformed' | 'unknown_key' | 'bad_signature' | 'invalid_claims' | 'wrong_kind' | 'expired';
export type VerifyResult = { ok: true; claims: EmailTokenClaims } | { ok: false; reason: VerifyFailure };

/** Raised by `issue` for claims that cannot be signed (no recipient, non-http URL, ...). */
export class EmailTokenError extends Error {
  override readonly name = 'EmailTokenError';
}

function mac(key: SigningKey, payload: string): string {
  return createHmac('sha256', key.secret).update(`${MAC_CONTEXT}${key.kid}.${payload}`).digest().subarray(0, MAC_BYTES).toString('base64url');
}

/**
 * Low level: signs an arbitrary payload object with `key` (no claim checks). `issue` is
 * what callers use; this exists so tests can craft validly signed but invalid claims.
 */
export function encodeSignedToken(payload: Record<string, unknown>, key: SigningKey): string {
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${body}.${key.kid}.${mac(key, body)}`;
}

function wireClaims(c: EmailTokenClaims): Record<string, unknown> {
  const w: Record<string, unknown> = { v: 1, t: c.kind === 'open' ? 'o' : 'c', s: c.sourceId };
  if (c.recipient.userId !== undefined) w['u'] = c.recipient.userId;
  if (c.recipient.email !== undefined) w['e'] = c.recipient.email;
  if (c.recipient.anonymousId !== undefined) w['a'] = c.recipient.anonymousId;
  w['c'] = c.campaign;
  w['m'] = c.emailId;
  if (c.url !== undefined) w['l'] = c.url;
  w['i'] = c.issuedAt;
  w['x'] = c.expiresAt;
  return w;
}

const optString = (v: unknown, max: number): v is string | undefined => v === undefined || (typeof v === 'string' && v !== '' && v.length <= max);
const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function readClaims(w: unknown): EmailTokenClaims | undefined {
  if (!isPlainObject(w) || w['v'] !== 1 || (w['t'] !== 'o' && w['t'] !== 'c')) return undefined;
  const { s, u, e, a, c, m, l, i, x } = w;
  if (typeof s !== 'string' || s === '' || s.length > MAX_ID_LENGTH) return undefined;
  if (!optString(u, MAX_ID_LENGTH) || !optString(a, MAX_ID_LENGTH) || !optString(e, MAX_EMAIL_LENGTH)) return undefined;
  if (u === undefined && a === undefined && e === undefined) return undefined;
  if (typeof c !== 'string' || c.length > MAX_NAME_LENGTH || typeof m !== 'string' || m === '' || m.length > MAX_ID_LENGTH) return undefined;
  if (!isSeconds(i) || !isSeconds(x) || x < i) return undefined;
  const kind: EmailTokenKind = w['t'] === 'o' ? 'open' : 'click';
  let url: string | undefined;
  if (kind === 'click') {
    // Defence in depth: even a validly signed token only ever redirects to http(s).
    if (typeof l !== 'string' || toTrackableUrl(l) !== l) return undefined;
    url = l;
  } else if (l !== undefined) return undefined;
  const recipient: EmailRecipient = {};
  if (u !== undefined) recipient.userId = u;
  if (e !== undefined) recipient.email = e;
  if (a !== undefined) recipient.anonymousId = a;
  const claims: EmailTokenClaims = { kind, sourceId: s, recipient, campaign: c, emailId: m, issuedAt: i, expiresAt: x };
  if (url !== undefined) claims.url = url;
  return claims;
}

/** Signs with the first key, verifies with any. The clock (epoch ms) is injected. */
export class EmailTokenSigner {
  private readonly keys: ReadonlyMap<string, SigningKey>;
  private readonly signingKey: SigningKey;

  constructor(
    keys: readonly SigningKey[],
    private readonly clock: () => number = Date.now,
  ) {
    const first = keys[0];
    if (!first) throw new RangeError('EmailTokenSigner needs at least one key');
    for (const k of keys) {
      if (!KID.test(k.kid)) throw new RangeError(`invalid key id "${k.kid}"`);
      if (Buffer.byteLength(k.secret, 'utf8') < MIN_SIGNING_SECRET_BYTES)
        throw new RangeError(`key "${k.kid}": secret shorter than ${MIN_SIGNING_SECRET_BYTES} bytes`);
    }
    this.signingKey = first;
    this.keys = new Map(keys.map((k) => [k.kid, k]));
  }

  /** The kid new tokens are signed with. */
  get currentKeyId(): string {
    return this.signingKey.kid;
  }

  /** Now, in epoch ms (the signer's clock). */
  now(): number {
    return this.clock();
  }

  /**
   * Issues a token.
   * @throws EmailTokenError when the claims cannot be signed: a click without an absolute
   *   http(s) URL (see `toTrackableUrl`), no recipient identity, empty ids, ttl ≤ 0.
   */
  issue(req: IssueRequest): string {
    if (!req.sourceId) throw new EmailTokenError('sourceId is required');
    if (!req.emailId) throw new EmailTokenError('emailId is required');
    const { userId, email, anonymousId } = req.recipient;
    if (!userId && !email && !anonymousId) throw new EmailTokenError('the recipient needs a userId, email or anonymousId');
    if (!(req.ttlSeconds > 0)) throw new EmailTokenError('ttlSeconds must be > 0');
    const issuedAt = Math.floor(this.clock() / 1000);
    const claims: EmailTokenClaims = {
      kind: req.kind,
      sourceId: req.sourceId,
      recipient: { ...(userId ? { userId } : {}), ...(email ? { email: normalizeEmail(email) } : {}), ...(anonymousId ? { anonymousId } : {}) },
      campaign: req.campaign,
      emailId: req.emailId,
      issuedAt,
      expiresAt: issuedAt + Math.ceil(req.ttlSeconds),
    };
    if (req.kind === 'click') {
      const url = req.url === undefined ? undefined : toTrackableUrl(req.url);
      if (url === undefined) throw new EmailTokenError(`only absolute http(s) URLs can be tracked: ${JSON.stringify(req.url ?? null).slice(0, 100)}`);
      claims.url = url;
    }
    if (readClaims(wireClaims(claims)) === undefined) throw new EmailTokenError('claims are out of bounds (ids too long?)');
    return encodeSignedToken(wireClaims(claims), this.signingKey);
  }

  /** Verifies a token for `kind`: signature first, then claims, kind and expiry. */
  verify(token: string, kind: EmailTokenKind): VerifyResult {
    if (typeof token !== 'string' || token.length > MAX_EMAIL_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'malformed' };
    const [payload, kid, sig] = parts as [string, string, string];
    if (!B64URL.test(payload) || !KID.test(kid) || sig.length !== MAC_CHARS || !B64URL.test(sig)) return { ok: false, reason: 'malformed' };
    const key = this.keys.get(kid);
    if (!key) return { ok: false, reason: 'unknown_key' };
    const expected = Buffer.from(mac(key, payload), 'utf8');
    const given = Buffer.from(sig, 'utf8');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad_signature' };
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'invalid_claims' };
    }
    const claims = readClaims(decoded);
    if (!claims) return { ok: false, reason: 'invalid_claims' };
    const nowSeconds = Math.floor(this.clock() / 1000);
    if (claims.issuedAt > nowSeconds + EMAIL_TOKEN_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'invalid_claims' };
    if (claims.kind !== kind) return { ok: false, reason: 'wrong_kind' };
    if (nowSeconds >= claims.expiresAt) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }
}

/** A short, stable digest of a token (for messageIds and logs; never log whole tokens). */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 32);
}
