import { seg, svc } from '../../../api/client';
import type { TimelineEvent, TimelineResponse } from '../../../api/types';

export const KINDS = ['page', 'click', 'form', 'email-open', 'email-click', 'video', 'order', 'other'] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABELS: Record<Kind, string> = {
  page: 'Pages',
  click: 'Clicks',
  form: 'Forms',
  'email-open': 'Email opens',
  'email-click': 'Email clicks',
  video: 'Video',
  order: 'Orders',
  other: 'Other',
};

/** One row of the chart and the table (computed once per load, not per render). */
export interface Row {
  id: string;
  t: number;
  at: string;
  kind: Kind;
  name: string;
  anonymous: boolean;
}

export function kindOf(e: TimelineEvent): Kind {
  if (e.type === 'page' || e.type === 'screen') return 'page';
  const name = e.event ?? '';
  if (name === 'Email Opened') return 'email-open';
  if (name === 'Email Link Clicked') return 'email-click';
  if (name.startsWith('Video ')) return 'video';
  if (/^Order /.test(name) || name === 'Checkout Started') return 'order';
  if (name === 'Form Submitted') return 'form';
  if (/Clicked$/.test(name)) return 'click';
  return 'other';
}

function nameOf(e: TimelineEvent): string {
  if (e.event) return e.event;
  if (e.type === 'page' || e.type === 'screen') {
    const props = (e.raw?.['properties'] ?? {}) as Record<string, unknown>;
    const where = e.raw?.['name'] ?? props['path'] ?? props['url'];
    return typeof where === 'string' && where !== '' ? `${e.type}: ${where}` : e.type;
  }
  return e.type;
}

/** An event that says who the visitor is: a `userId`, or an identifier other than the anonymous cookie. */
function identifies(e: TimelineEvent): boolean {
  const userId = e.raw?.['userId'];
  if (typeof userId === 'string' && userId.trim() !== '') return true;
  return (e.identifiers ?? []).some((i) => i.type !== 'anonymousId');
}

/**
 * The rows of a timeline (newest first, as the API answers). An event is "anonymous" when it
 * came before the first identifying event of the loaded history and does not identify itself.
 */
export function toRows(events: TimelineEvent[]): Row[] {
  let knownSince = Number.POSITIVE_INFINITY;
  for (const e of events) if (identifies(e)) knownSince = Math.min(knownSince, Date.parse(e.at));
  return events.map((e) => {
    const t = Date.parse(e.at);
    return { id: e.messageId, t, at: e.at, kind: kindOf(e), name: nameOf(e), anonymous: t < knownSince && !identifies(e) };
  });
}

export const PAGE_SIZE = 1000;
export const MAX_EVENTS = 10_000;

/** Reads the timeline page by page (1000 a page, newest first) until `max` events or the end. */
export async function loadTimeline(
  profileId: string,
  signal: AbortSignal,
  onProgress: (loaded: number) => void,
  max = MAX_EVENTS,
): Promise<{ events: TimelineEvent[]; more: boolean }> {
  const events: TimelineEvent[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) q.set('cursor', cursor);
    const page = await svc<TimelineResponse>('enrichment', `/v1/profiles/${seg(profileId)}/timeline?${q.toString()}`, { signal });
    events.push(...page.events);
    cursor = page.next;
    onProgress(events.length);
  } while (cursor && events.length < max && !signal.aborted);
  return { events, more: cursor !== undefined };
}
