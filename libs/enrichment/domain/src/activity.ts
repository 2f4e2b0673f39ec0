/**
 * The activity digest: a compact list of a profile's latest events (time, kind, short label,
 * identified flag, event id), oldest first, kept by enrichment as it applies events so a
 * timeline overview is one small read instead of a query over the event documents
 * (docs/enrichment.md "Activity digest"). Pure: the application keeps it beside the state.
 *
 * Order: by event time, then event id (so merging two digests gives the same list whatever
 * the order they are merged in). Bounded: the newest `maxActivityEntries` entries are kept.
 */
import type { ResolvedEvent } from '@mosaic/contracts';
import { eventTime } from './event-step';
import { obj, str } from './util';

/** The timeline kinds (the console draws one chart row per kind, docs/console-ui.md). */
export const ACTIVITY_KINDS = ['page', 'click', 'form', 'email-open', 'email-click', 'video', 'order', 'other'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** `[event time (epoch ms), kind, label, 1 when the event identified the visitor else 0, event id]`. */
export type ActivityEntry = [t: number, kind: ActivityKind, label: string, identified: 0 | 1, id: string];

/** Labels are cut to this many characters. */
export const ACTIVITY_LABEL_MAX = 120;

/** The kind of an event: its type and, for track events, its name. The one mapping (the console shows what the API says). */
export function activityKindOf(type: string, name: string | undefined): ActivityKind {
  if (type === 'page' || type === 'screen') return 'page';
  const n = name ?? '';
  if (n === 'Email Opened') return 'email-open';
  if (n === 'Email Link Clicked') return 'email-click';
  if (n.startsWith('Video ')) return 'video';
  if (n.startsWith('Order ') || n === 'Checkout Started') return 'order';
  if (n === 'Form Submitted') return 'form';
  if (n.endsWith('Clicked')) return 'click';
  return 'other';
}

/** A short label: the track event's name, `page: <name, path or url>` for pages and screens, else the type. */
export function activityLabelOf(ev: Partial<ResolvedEvent['event']>): string {
  const type = str(ev.type) ?? 'track';
  const name = type === 'track' ? str(ev.event, ACTIVITY_LABEL_MAX) : undefined;
  if (name) return name;
  if (type === 'page' || type === 'screen') {
    const props = obj(ev.properties);
    const page = obj(obj(ev.context)['page']);
    const where = str((ev as { name?: unknown }).name) ?? str(props['path']) ?? str(props['url']) ?? str(page['path']);
    return (where ? `${type}: ${where}` : type).slice(0, ACTIVITY_LABEL_MAX);
  }
  return type;
}

/** An event that says who the visitor is: a `userId`, or an identifier other than the anonymous cookie. */
export function identifiesVisitor(userId: unknown, identifiers: readonly { type: string }[] | undefined): boolean {
  if (typeof userId === 'string' && userId.trim() !== '') return true;
  return (identifiers ?? []).some((i) => i.type !== 'anonymousId');
}

/** The digest entry of an event (`id`: its message id, the event document's `_id`). */
export function activityEntryOf(resolved: Pick<ResolvedEvent, 'event' | 'identifiers'>, id: string, nowIso: string): ActivityEntry {
  const ev = obj(resolved.event) as Partial<ResolvedEvent['event']>;
  const type = str(ev.type) ?? 'track';
  const kind = activityKindOf(type, type === 'track' ? str(ev.event, 256) : undefined);
  return [eventTime(ev, nowIso), kind, activityLabelOf(ev), identifiesVisitor(ev.userId, resolved.identifiers) ? 1 : 0, id];
}

function compareEntries(a: ActivityEntry, b: ActivityEntry): number {
  return a[0] - b[0] || (a[4] < b[4] ? -1 : a[4] > b[4] ? 1 : 0);
}

function newestOf(entries: ActivityEntry[], max: number): ActivityEntry[] {
  return entries.length > max ? entries.slice(entries.length - Math.max(0, max)) : entries;
}

/**
 * `digest` with `added` (events just applied; none of them already in it — the applier applies
 * an event once), ordered, the newest `max` kept. The usual case (every added event newer than
 * the digest's newest) only appends.
 */
export function appendActivity(digest: readonly ActivityEntry[], added: readonly ActivityEntry[], max: number): ActivityEntry[] {
  const sortedAdded = [...added].sort(compareEntries);
  const last = digest[digest.length - 1];
  const first = sortedAdded[0];
  const inOrder = !last || !first || compareEntries(last, first) <= 0;
  const all = inOrder ? [...digest, ...sortedAdded] : [...digest, ...sortedAdded].sort(compareEntries);
  return newestOf(all, max);
}

/** Two profiles' digests as one (a merge): both, each event once, ordered, the newest `max` kept. Commutative. */
export function mergeActivity(a: readonly ActivityEntry[], b: readonly ActivityEntry[], max: number): ActivityEntry[] {
  const byId = new Map<string, ActivityEntry>();
  for (const e of [...a, ...b]) if (!byId.has(e[4])) byId.set(e[4], e);
  return newestOf([...byId.values()].sort(compareEntries), max);
}

/** The digest of a list of events (a split, or a profile stored before digests). */
export function buildActivity(entries: readonly ActivityEntry[], max: number): ActivityEntry[] {
  return mergeActivity([], entries, max);
}

/** Time (ms) of the first entry that identified the visitor (undefined when none did). */
export function identifiedSince(digest: readonly ActivityEntry[]): number | undefined {
  return digest.find((e) => e[3] === 1)?.[0];
}

/** Anonymous: before the first identifying event of the digest and not identifying itself (docs/console-ui.md). */
export function isAnonymousEntry(entry: ActivityEntry, since: number | undefined): boolean {
  return entry[3] === 0 && (since === undefined || entry[0] < since);
}

/**
 * How long a stored digest may be (characters; at most 3 bytes each in UTF-8, so 12 MB): labels
 * and message ids of the longest kind would otherwise let a digest of the allowed entries
 * outgrow the 16 MB document it is stored on, and every write of that profile would fail.
 */
export const ACTIVITY_TEXT_MAX_CHARS = 4_000_000;

/** The digest as stored (JSON text); beyond `maxChars` the oldest entries are left out. */
export function activityToText(digest: readonly ActivityEntry[], maxChars = ACTIVITY_TEXT_MAX_CHARS): string {
  const text = JSON.stringify(digest);
  if (text.length <= maxChars) return text;
  let size = text.length;
  let from = 0;
  for (; from < digest.length && size > maxChars; from += 1) size -= JSON.stringify(digest[from]).length + 1;
  return JSON.stringify(digest.slice(from));
}

/** A stored digest; undefined when there is none or it is not a digest (the caller rebuilds it). */
export function activityFromText(text: string | undefined): ActivityEntry[] | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every(isEntry) ? (v as ActivityEntry[]) : undefined;
  } catch {
    return undefined;
  }
}

function isEntry(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.length === 5 &&
    typeof v[0] === 'number' &&
    (ACTIVITY_KINDS as readonly unknown[]).includes(v[1]) &&
    typeof v[2] === 'string' &&
    (v[3] === 0 || v[3] === 1) &&
    typeof v[4] === 'string'
  );
}
