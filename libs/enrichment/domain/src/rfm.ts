/**
 * RFM scores (recency, frequency, monetary), 1–5 each, by quintiles over the population. The
 * service recomputes them periodically: `rfmInput` per profile → `rfmThresholds` over all →
 * `scoreProfile` per profile → `withRfm` stores them on the document.
 * Recency: fewer days since the last order is better (5). Frequency/monetary: more is better.
 * A value equal to a threshold falls in the lower quintile; an empty population scores 1.
 */
import type { ProfileState } from './state';
import { iso, ms } from './util';

export interface RfmInput {
  recencyDays: number;
  frequency: number;
  monetary: number;
}

export interface RfmThresholds {
  /** Four ascending cut points (20th, 40th, 60th, 80th percentiles) per dimension. */
  recencyDays: number[];
  frequency: number[];
  monetary: number[];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

function cuts(values: number[]): number[] {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return [0.2, 0.4, 0.6, 0.8].map((q) => quantile(s, q));
}

export function rfmScores(population: RfmInput[]): RfmThresholds {
  return {
    recencyDays: cuts(population.map((p) => p.recencyDays)),
    frequency: cuts(population.map((p) => p.frequency)),
    monetary: cuts(population.map((p) => p.monetary)),
  };
}

/** Number of cut points strictly below `v`, + 1 (1..5). */
function rank(cutPoints: number[], v: number): number {
  return 1 + cutPoints.filter((c) => v > c).length;
}

export function scoreProfile(t: RfmThresholds, p: RfmInput): { r: number; f: number; m: number } {
  return {
    r: 6 - rank(t.recencyDays, p.recencyDays),
    f: rank(t.frequency, p.frequency),
    m: rank(t.monetary, p.monetary),
  };
}

/** RFM input of a profile as of `nowIso`; profiles without orders are not in the population. */
export function rfmInput(state: ProfileState, nowIso: string): RfmInput | undefined {
  const o = state.computed.orders;
  const last = ms(o.lastOrderAt);
  const now = ms(nowIso);
  if (o.count === 0 || last === undefined || now === undefined) return undefined;
  return { recencyDays: Math.max(0, (now - last) / 86_400_000), frequency: o.count, monetary: o.lifetimeValue };
}

export function withRfm(state: ProfileState, scores: { r: number; f: number; m: number }, atIso: string): ProfileState {
  const at = ms(atIso);
  return {
    ...state,
    version: state.version + 1,
    computed: { ...state.computed, rfm: { ...scores, at: at === undefined ? atIso : iso(at) } },
  };
}
