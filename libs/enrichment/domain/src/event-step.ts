/**
 * The context the steps of `applyEvent` share: the profile being changed (a copy), the event's
 * normalised fields and what the event adds to its day's bucket.
 */
import type { ResolvedEvent } from '@mosaic/contracts';
import type { EnrichmentConfig } from './config';
import type { ProfileState } from './state';
import { iso, ms, obj, str } from './util';

export interface EventStep {
  s: ProfileState;
  c: ProfileState['computed'];
  I: ProfileState['internal'];
  cfg: EnrichmentConfig;
  /** Event time (ms) and as ISO. */
  t: number;
  at: string;
  type: string;
  /** The track event's name (undefined for other types). */
  name: string | undefined;
  messageId: string | undefined;
  props: Record<string, unknown>;
  context: Record<string, unknown>;
  /** Affinity half-life (ms). */
  halfLife: number;
  /** What the event adds to its day's bucket. */
  revenue: number;
  orders: number;
}

export function eventTime(ev: { timestamp?: unknown; receivedAt?: unknown }, nowIso: string): number {
  return ms(ev.timestamp) ?? ms(ev.receivedAt) ?? ms(nowIso) ?? 0;
}

export function eventStep(
  s: ProfileState,
  ev: Partial<ResolvedEvent['event']>,
  messageId: string | undefined,
  cfg: EnrichmentConfig,
  nowIso: string,
): EventStep {
  const t = eventTime(ev, nowIso);
  const type = str(ev.type) ?? 'track';
  return {
    s,
    c: s.computed,
    I: s.internal,
    cfg,
    t,
    at: iso(t),
    type,
    name: type === 'track' ? str(ev.event, 256) : undefined,
    messageId,
    props: obj(ev.properties),
    context: obj(ev.context),
    halfLife: cfg.affinityHalfLifeDays * 86_400_000,
    revenue: 0,
    orders: 0,
  };
}
