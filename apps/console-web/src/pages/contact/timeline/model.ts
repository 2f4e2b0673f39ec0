import { seg, svc } from '../../../api/client';
import type { ActivityResponse, TimelineResponse } from '../../../api/types';

/** The chart's rows, in order (enrichment decides each event's kind: docs/console-ui.md "Timeline kinds and anonymous"). */
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
  /** Event time, epoch ms (the table formats only the rows it shows). */
  t: number;
  kind: Kind;
  name: string;
  anonymous: boolean;
}

function kindOf(k: unknown): Kind {
  return (KINDS as readonly unknown[]).includes(k) ? (k as Kind) : 'other';
}

/** The rows of an activity digest, newest first (the API answers oldest first; kinds and anonymous flags are the API's). */
export function toRows(activity: ActivityResponse): Row[] {
  const rows: Row[] = [];
  for (let i = activity.entries.length - 1; i >= 0; i -= 1) {
    const [t, kind, label, , id, anonymous] = activity.entries[i] as ActivityResponse['entries'][number];
    rows.push({ id, t, kind: kindOf(kind), name: label, anonymous: anonymous === 1 });
  }
  return rows;
}

/**
 * The digest asked for ahead (`prefetchActivity`), taken by the next `loadActivity` of that id
 * within 10 s. One at a time: a contact opened by an id identity resolves to another profile (a
 * merged one) never takes it, and the next prefetch replaces it rather than keeping it.
 */
let prefetched: { id: string; at: number; answer: Promise<ActivityResponse> } | null = null;
const PREFETCH_FRESH_MS = 10_000;

/** Asks for a contact's digest now (the contact page does while it asks identity which profile an id is). */
export function prefetchActivity(id: string): void {
  const answer = svc<ActivityResponse>('enrichment', `/v1/profiles/${seg(id)}/activity`);
  answer.catch(() => undefined); // a failure is the loader's to show, if it takes this answer
  prefetched = { id, at: Date.now(), answer };
}

/** The contact's activity digest: every event the chart and the table need, in one request (or the one prefetched). */
export function loadActivity(profileId: string, signal: AbortSignal): Promise<ActivityResponse> {
  const ahead = prefetched?.id === profileId ? prefetched : null;
  if (ahead) prefetched = null;
  if (ahead && Date.now() - ahead.at < PREFETCH_FRESH_MS) return ahead.answer;
  return svc<ActivityResponse>('enrichment', `/v1/profiles/${seg(profileId)}/activity`, { signal });
}

/** Rows whose details come from the full events (loaded after the first render). */
export const DETAIL_EVENTS = 200;

function percent(v: unknown): string | undefined {
  return typeof v === 'number' ? `${Math.round(v * 100)}%` : undefined;
}

/** A video session in a few words: what share was watched and how it was sought. */
export function videoSummary(s: Record<string, unknown>): string {
  const parts = [
    typeof s['title'] === 'string' ? s['title'] : undefined,
    percent(s['shareWatched']) ? `watched ${percent(s['shareWatched'])}` : undefined,
    typeof s['seeksForward'] === 'number' && s['seeksForward'] > 0 ? `${s['seeksForward']} seek(s) forward` : undefined,
    typeof s['seeksBack'] === 'number' && s['seeksBack'] > 0 ? `${s['seeksBack']} seek(s) back` : undefined,
    s['completed'] === true ? 'completed' : undefined,
  ];
  return parts.filter((p) => p !== undefined).join(', ');
}

/**
 * Details of the latest events that only the full events give (video sessions: share watched,
 * seeks), by event id: every event of a session maps to the session's summary.
 */
export async function loadDetails(profileId: string, signal: AbortSignal, limit = DETAIL_EVENTS): Promise<Map<string, string>> {
  const page = await svc<TimelineResponse>('enrichment', `/v1/profiles/${seg(profileId)}/timeline?limit=${limit}`, { signal });
  const details = new Map<string, string>();
  for (const e of page.events) {
    if (!e.videoSession) continue;
    const summary = videoSummary(e.videoSession);
    const ids = Array.isArray(e.videoSession['messageIds']) ? (e.videoSession['messageIds'] as string[]) : [e.messageId];
    for (const id of ids) details.set(id, summary);
  }
  return details;
}
