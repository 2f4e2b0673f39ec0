/** Builders for specs (not exported from the index). */
import type { ResolvedEvent } from '@mosaic/contracts';
import { applyEvent, type ApplyContext } from './apply';
import type { ProfileState } from './state';

let n = 0;
export const NOW = '2026-03-01T00:00:00.000Z';
export const CTX: ApplyContext = { now: NOW };

export function ev(over: Partial<ResolvedEvent['event']> & { at?: string }, profileId = 'p1'): ResolvedEvent {
  const { at, ...rest } = over;
  const ts = at ?? '2026-01-01T10:00:00.000Z';
  return {
    kind: 'event',
    profileId,
    identifiers: [{ type: 'anonymousId', value: 'a-1' }],
    event: {
      type: 'track',
      messageId: `m-${++n}`,
      anonymousId: 'a-1',
      properties: {},
      traits: {},
      context: {},
      timestamp: ts,
      receivedAt: ts,
      sourceId: 'src',
      ...rest,
    } as ResolvedEvent['event'],
  };
}

export function track(event: string, properties: Record<string, unknown>, at?: string, context: Record<string, unknown> = {}): ResolvedEvent {
  return ev({ type: 'track', event, properties, context, at });
}

export function page(context: Record<string, unknown>, at?: string, extra: Partial<ResolvedEvent['event']> = {}): ResolvedEvent {
  return ev({ type: 'page', context, at, ...extra });
}

export function applyAll(events: ResolvedEvent[], ctx: ApplyContext = CTX, state?: ProfileState): ProfileState {
  let s = state;
  for (const e of events) s = applyEvent(s, e, ctx).state;
  if (!s) throw new Error('no events');
  return s;
}

export function at(minutes: number, base = '2026-01-01T10:00:00.000Z'): string {
  return new Date(Date.parse(base) + minutes * 60_000).toISOString();
}
