/**
 * The timeline's video sessions: the video events of a page become one entry per session,
 * computed at read time from the session's stored events (docs/enrichment.md "Timeline").
 * The entry takes the place of the session's newest event; a page holding only older events of
 * a session shown on a newer page leaves them out.
 */
import type { EventDocument, ProfileRepository } from '@mosaic/enrichment-data-access';
import { VIDEO_EVENT_KINDS, summarizeVideoSession, videoSessionOf, type VideoSessionEntry } from '@mosaic/enrichment-domain';

/** The stored video events read per page (newest first), and how far back a session's events are looked for. */
const MAX_VIDEO_EVENTS = 1000;
const SESSION_LOOKBACK_MS = 24 * 3_600_000;

export interface ParsedEvent {
  doc: EventDocument;
  raw: Record<string, unknown>;
}

export interface VideoSessionGroup {
  /** The entry's event (the session's newest). */
  newest: ParsedEvent;
  summary: VideoSessionEntry & { messageIds: string[] };
}

function sessionOf(e: ParsedEvent): string | undefined {
  return e.doc.type === 'track' ? videoSessionOf(e.doc.name, e.raw['properties']) : undefined;
}

function newer(a: EventDocument, b: EventDocument): boolean {
  return a.at.getTime() > b.at.getTime() || (a.at.getTime() === b.at.getTime() && a._id > b._id);
}

export function parse(doc: EventDocument): ParsedEvent {
  return { doc, raw: JSON.parse(doc.json) as Record<string, unknown> };
}

/** The page with each video session as one group in place of its newest event. */
export async function groupVideoSessions(store: ProfileRepository, profileId: string, page: ParsedEvent[]): Promise<(ParsedEvent | VideoSessionGroup)[]> {
  const videoAt = page.filter((e) => sessionOf(e) !== undefined).map((e) => e.doc.at.getTime());
  if (videoAt.length === 0) return page;
  const stored = await store.timeline(profileId, {
    names: Object.keys(VIDEO_EVENT_KINDS),
    from: new Date(Math.min(...videoAt) - SESSION_LOOKBACK_MS),
    limit: MAX_VIDEO_EVENTS,
  });
  const bySession = new Map<string, Map<string, ParsedEvent>>();
  for (const e of [...stored.map(parse), ...page]) {
    const sid = sessionOf(e);
    if (sid === undefined) continue;
    const m = bySession.get(sid) ?? new Map<string, ParsedEvent>();
    m.set(e.doc._id, e);
    bySession.set(sid, m);
  }
  const out: (ParsedEvent | VideoSessionGroup)[] = [];
  for (const e of page) {
    const sid = sessionOf(e);
    const events = sid === undefined ? undefined : [...(bySession.get(sid)?.values() ?? [])];
    if (!events) {
      out.push(e);
      continue;
    }
    const newest = events.reduce((a, b) => (newer(b.doc, a.doc) ? b : a));
    if (newest.doc._id !== e.doc._id) continue; // shown at the session's newest event (this page or a newer one)
    const summary = summarizeVideoSession(
      events.map((x) => ({ messageId: x.doc._id, at: x.doc.at.getTime(), name: x.doc.name ?? '', properties: x.raw['properties'] })),
    );
    if (!summary) out.push(...page.filter((x) => sessionOf(x) === sid));
    else out.push({ newest, summary: { ...summary, messageIds: events.map((x) => x.doc._id) } });
  }
  return out;
}
