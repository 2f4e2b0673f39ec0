/**
 * Write-key extraction, as Segment accepts it:
 * 1. `Authorization: Basic base64(writeKey + ":")` — the write key is the user name and
 *    the password is empty (analytics-node without OAuth, curl `-u KEY:`). A credential
 *    without a colon is taken whole as the key. The scheme is case-insensitive; standard
 *    and URL-safe base64 are both accepted.
 * 2. Otherwise `writeKey` in the body: the batch envelope or a single message
 *    (analytics-next and analytics-node put it there; browsers' sendBeacon cannot set
 *    headers). analytics-node with OAuth sends `Authorization: Bearer …` and the key in the
 *    body, so any non-Basic or malformed header falls back to the body.
 * Returns `undefined` when neither yields a non-empty key.
 */
import { isPlainObject } from './sanitize';

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

export function extractWriteKey(authorizationHeader?: string, body?: unknown): string | undefined {
  return fromHeader(authorizationHeader) ?? fromBody(body);
}

function fromHeader(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^\s*basic\s+(\S+)\s*$/i.exec(header);
  const credential = match?.[1];
  if (credential === undefined || !BASE64.test(credential)) return undefined;
  const decoded = Buffer.from(credential, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon >= 0 ? decoded.slice(0, colon) : decoded;
  return user === '' ? undefined : user;
}

function fromBody(body: unknown): string | undefined {
  if (!isPlainObject(body)) return undefined;
  const key = body['writeKey'];
  return typeof key === 'string' && key !== '' ? key : undefined;
}
