/**
 * Trait operators with event-time semantics (no arrival-order bugs):
 *
 * - `$set` / `$unset`: last writer wins **by event time** (a late-arriving older `$set` never
 *   overwrites a newer one; equal times: the later applied wins).
 * - `$set_once`: the **earliest** `$set_once` by event time wins, among those after the latest
 *   `$unset`; it shows only while no `$set` is in force.
 *
 * Effective value of a trait = the latest `$set` if the latest write is a `$set`; otherwise the
 * earliest `$set_once` after the latest `$unset`; otherwise absent.
 * Known corner: if several `$set_once` exist and an `$unset` later in event time than the
 * kept one arrives late, the earlier-discarded `$set_once`s after that `$unset` are not
 * recovered (the trait is absent until the next write); `recomputeFromEvents` is exact.
 */
import type { ProfileState, TraitMeta } from './state';
import { type Json, fieldKey, isObj, own } from './util';

export function effectiveTrait(meta: TraitMeta, setValue: Json | undefined): Json | undefined {
  if (meta.s !== undefined && !meta.u) return setValue;
  if (meta.o !== undefined && (meta.s === undefined || meta.o > meta.s)) return meta.ov;
  return undefined;
}

function settle(state: ProfileState, key: string, meta: TraitMeta, setValue: Json | undefined): void {
  state.traitMeta[key] = meta;
  const v = effectiveTrait(meta, setValue);
  if (v === undefined) delete state.traits[key];
  else state.traits[key] = v;
}

function currentSetValue(state: ProfileState, meta: TraitMeta, key: string): Json | undefined {
  return meta.s !== undefined && !meta.u ? own(state.traits, key) : undefined;
}

function room(state: ProfileState, key: string, maxTraits: number): boolean {
  return Object.hasOwn(state.traitMeta, key) || Object.keys(state.traitMeta).length < maxTraits;
}

export function setTrait(state: ProfileState, key: string, value: unknown, t: number, maxTraits: number): void {
  if (value === undefined || !room(state, key, maxTraits)) return;
  const meta = { ...own(state.traitMeta, key) };
  if (meta.s !== undefined && t < meta.s) return;
  meta.s = t;
  delete meta.u;
  settle(state, key, meta, value as Json);
}

export function setTraitOnce(state: ProfileState, key: string, value: unknown, t: number, maxTraits: number): void {
  if (value === undefined || !room(state, key, maxTraits)) return;
  const meta = { ...own(state.traitMeta, key) };
  if (meta.u && meta.s !== undefined && t <= meta.s) return;
  if (meta.o !== undefined && t >= meta.o) return;
  meta.o = t;
  meta.ov = value as Json;
  settle(state, key, meta, currentSetValue(state, own(state.traitMeta, key) ?? {}, key));
}

export function unsetTrait(state: ProfileState, key: string, t: number, maxTraits: number): void {
  if (!room(state, key, maxTraits)) return;
  const meta = { ...own(state.traitMeta, key) };
  if (meta.s !== undefined && t < meta.s) return;
  meta.s = t;
  meta.u = true;
  if (meta.o !== undefined && meta.o <= t) {
    delete meta.o;
    delete meta.ov;
  }
  settle(state, key, meta, undefined);
}

function unsetNames(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  if (isObj(v)) return Object.keys(v);
  return [];
}

const OPS = ['$set', '$set_once', '$unset'];

/**
 * Applies every trait write one event carries, in this order (later wins at equal time):
 * `context.traits`, identify `traits` (both `$set`), then `$set_once`, `$set`, `$unset` found at
 * the top of `traits` or `properties`.
 */
export function applyTraitWrites(
  state: ProfileState,
  ev: { type?: unknown; traits?: unknown; properties?: unknown; context?: unknown },
  t: number,
  maxTraits: number,
): void {
  const ctxTraits = isObj(ev.context) && isObj(ev.context['traits']) ? ev.context['traits'] : {};
  const traits = isObj(ev.traits) ? ev.traits : {};
  const props = isObj(ev.properties) ? ev.properties : {};
  const plainSets: Record<string, unknown>[] = [ctxTraits];
  if (ev.type === 'identify' || ev.type === 'alias') plainSets.push(traits);
  // Keys are escaped here too (idempotent): not every producer is the collector, and `$unset`
  // lists names as values, which nothing upstream escapes.
  for (const src of plainSets) {
    for (const [k, v] of Object.entries(src)) if (!OPS.includes(k)) setTrait(state, fieldKey(k), v, t, maxTraits);
  }
  for (const src of [ctxTraits, traits, props]) {
    if (isObj(src['$set_once'])) for (const [k, v] of Object.entries(src['$set_once'])) setTraitOnce(state, fieldKey(k), v, t, maxTraits);
  }
  for (const src of [ctxTraits, traits, props]) {
    if (isObj(src['$set'])) for (const [k, v] of Object.entries(src['$set'])) setTrait(state, fieldKey(k), v, t, maxTraits);
  }
  for (const src of [ctxTraits, traits, props]) {
    for (const k of unsetNames(src['$unset'])) unsetTrait(state, fieldKey(k), t, maxTraits);
  }
}

/**
 * Merge of two profiles' traits: the survivor's `$set`/`$unset` wins wherever it has one (the
 * loser's only where the survivor has none); `$set_once` keeps the earliest by event time
 * (then dropped if an `$unset` in force is later).
 */
export function foldTraits(survivor: ProfileState, loser: ProfileState, maxTraits: number): void {
  for (const [key, lm] of Object.entries(loser.traitMeta)) {
    const sm = own(survivor.traitMeta, key);
    if (!sm && Object.keys(survivor.traitMeta).length >= maxTraits) continue;
    const base: TraitMeta = { ...(sm ?? {}) };
    let setValue = sm ? currentSetValue(survivor, sm, key) : undefined;
    if (base.s === undefined && lm.s !== undefined) {
      base.s = lm.s;
      if (lm.u) base.u = true;
      else delete base.u;
      setValue = currentSetValue(loser, lm, key);
    }
    if (lm.o !== undefined && (base.o === undefined || lm.o < base.o)) {
      base.o = lm.o;
      base.ov = lm.ov;
    }
    if (base.u && base.s !== undefined && base.o !== undefined && base.o <= base.s) {
      delete base.o;
      delete base.ov;
    }
    settle(survivor, key, base, setValue);
  }
}
