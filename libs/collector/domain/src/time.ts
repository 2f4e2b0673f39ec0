/**
 * Dates and clock-skew correction.
 *
 * Dates are ISO-8601 / RFC 3339 strings: `YYYY-MM-DD`, optionally followed by `T` (or a
 * space) `hh:mm`, optional `:ss`, optional fraction (any number of digits, truncated to
 * milliseconds), and an optional zone `Z` or `±hh:mm` / `±hhmm` / `±hh`. A date-time
 * without a zone is read as UTC (never as the server's local time, which would make the
 * result depend on where the collector runs); a bare date is midnight UTC. Calendar
 * validity is checked (no 31 April, 29 February only in leap years). Numbers (epoch
 * milliseconds) are not dates here: the Segment spec says ISO-8601 strings.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Epoch milliseconds of an ISO-8601 string, or `undefined` if it is not a valid one. */
export function parseIsoDate(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const m = ISO_DATE.exec(value);
  if (!m) return undefined;
  const num = (i: number): number => (m[i] === undefined ? 0 : Number(m[i]));
  const year = num(1);
  const month = num(2);
  const day = num(3);
  const hour = num(4);
  const minute = num(5);
  const second = num(6);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offsetSign = m[9] === '-' ? -1 : 1;
  const offsetHours = num(10);
  const offsetMinutes = num(11);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0..99 to 1900..1999; set the year explicitly.
  const date = new Date(utc);
  date.setUTCFullYear(year);
  const ms = date.getTime() - offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Accepted event times: 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z, for
 * `timestamp`, `originalTimestamp` and `sentAt` as sent and for the skew-corrected
 * `timestamp`. Segment documents no bound; ours keeps every time a four-digit-year
 * ISO-8601 string (JavaScript writes years outside 0..9999 as `-007974-…`/`+010000-…`, which
 * no later stage parses back) and excludes pre-epoch times, which are clock bugs, not events.
 */
export const MIN_EVENT_TIME_MS = Date.UTC(1970, 0, 1);
export const MAX_EVENT_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function isEventTimeInRange(ms: number): boolean {
  return ms >= MIN_EVENT_TIME_MS && ms <= MAX_EVENT_TIME_MS;
}

export interface ClockInputs {
  /** The message's `timestamp` (client clock), epoch ms. */
  timestamp?: number;
  /** The message's `originalTimestamp` (client clock), epoch ms; used only without `timestamp`. */
  originalTimestamp?: number;
  /** When the client sent the request (client clock), epoch ms: the message's own `sentAt`, else the batch envelope's. */
  sentAt?: number;
  /** When the collector received the request (server clock), epoch ms. */
  receivedAt: number;
}

/**
 * Segment's clock-skew correction
 * (https://segment.com/docs/connections/spec/common/#timestamp-overview).
 *
 * Let `client` = `timestamp` if present, else `originalTimestamp`.
 * 1. No `client`: the event happened when we received it → `receivedAt`.
 * 2. `client` and `sentAt` (both on the client's clock): the client's offset cancels out,
 *    `timestamp = receivedAt - (sentAt - client)`. (The network transit time is ignored,
 *    as Segment does.)
 * 3. `client` without `sentAt` (typically server-side sources and historical imports,
 *    whose clocks are trusted): `client` as is.
 * Finally, a result later than `receivedAt` is clamped to `receivedAt`: after correction a
 * future time means the client claims the event happened after it was sent (a client
 * bug or a scheduled time), and future times would break every "in the last N days"
 * window downstream. The client's own value is kept in `originalTimestamp`, so nothing is
 * lost. Past times are never clamped (imports of old events are legitimate).
 */
export function correctTimestamp(inputs: ClockInputs): number {
  const client = inputs.timestamp ?? inputs.originalTimestamp;
  let result: number;
  if (client === undefined) result = inputs.receivedAt;
  else if (inputs.sentAt !== undefined) result = inputs.receivedAt - (inputs.sentAt - client);
  else result = client;
  return Math.min(result, inputs.receivedAt);
}
