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
 *
 * Bounds (`TraitLimits`): at most `maxTraits` keys, and at most `maxTraitBytes` of traits
 * serialized (below). A write that would pass either is ignored, as if it had not been made
 * (merges too: the survivor keeps what it had); writes that shrink the traits always land.
 */
import type { ProfileState, TraitMeta } from './state';
import { type Json, fieldKey, isObj, own, utf8Bytes } from './util';

/** What trait writes are checked against (`EnrichmentConfig` has both). */
export interface TraitLimits {
  maxTraits: number;
  maxTraitBytes: number;
}

/** Bytes a trait takes: its key and its values as JSON (UTF-8) — the one shown and a `$set_once` value held behind a `$set`. */
function entryBytes(key: string, value: Json | undefined, ov: Json | undefined): number {
  if (value === undefined && ov === undefined) return 0;
  return utf8Bytes(key) + (value === undefined ? 0 : utf8Bytes(JSON.stringify(value))) + (ov === undefined ? 0 : utf8Bytes(JSON.stringify(ov)));
}

/** Bytes all traits of a profile take (`entryBytes` summed). */
export function traitBytes(state: ProfileState): number {
  let n = 0;
  for (const key of new Set([...Object.keys(state.traitMeta), ...Object.keys(state.traits)])) {
    n += entryBytes(key, own(state.traits, key), own(state.traitMeta, key)?.ov);
  }
  return n;
}

/**
 * The room left for a profile's traits during one event or fold: the byte count is measured on
 * the first write and kept up to date by the writes after it.
 */
class TraitRoom {
  private used: number | undefined;

  constructor(
    private readonly state: ProfileState,
    private readonly limits: TraitLimits,
  ) {}

  /** Whether `key` exists or a new key still fits under `maxTraits`. */
  hasKey(key: string): boolean {
    return Object.hasOwn(this.state.traitMeta, key) || Object.keys(this.state.traitMeta).length < this.limits.maxTraits;
  }

  /** Takes the bytes `key` needs to hold `value` (and `ov`); false, taking nothing, when that passes `maxTraitBytes`. */
  take(key: string, value: Json | undefined, ov: Json | undefined): boolean {
    const used = this.used ?? traitBytes(this.state);
    const delta = entryBytes(key, value, ov) - entryBytes(key, own(this.state.traits, key), own(this.state.traitMeta, key)?.ov);
    if (delta > 0 && used + delta > this.limits.maxTraitBytes) {
      this.used = used;
      return false;
    }
    this.used = used + delta;
    return true;
  }
}

export function effectiveTrait(meta: TraitMeta, setValue: Json | undefined): Json | undefined {
  if (meta.s !== undefined && !meta.u) return setValue;
  if (meta.o !== undefined && (meta.s === undefined || meta.o > meta.s)) return meta.ov;
  return undefined;
}

/** Stores the trait's new meta and effective value, if the room allows (else nothing changes). */
function settle(state: ProfileState, room: TraitRoom, key: string, meta: TraitMeta, setValue: Json | undefined): void {
  const v = effectiveTrait(meta, setValue);
  if (!room.take(key, v, meta.ov)) return;
  state.traitMeta[key] = meta;
  if (v === undefined) delete state.traits[key];
  else state.traits[key] = v;
}

function currentSetValue(state: ProfileState, meta: TraitMeta, key: string): Json | undefined {
  return meta.s !== undefined && !meta.u ? own(state.traits, key) : undefined;
}

function setTrait(state: ProfileState, room: TraitRoom, key: string, value: unknown, t: number): void {
  if (value === undefined || !room.hasKey(key)) return;
  const meta = { ...own(state.traitMeta, key) };
  if (meta.s !== undefined && t < meta.s) return;
  meta.s = t;
  delete meta.u;
  settle(state, room, key, meta, value as Json);
}

function setTraitOnce(state: ProfileState, room: TraitRoom, key: string, value: unknown, t: number): void {
  if (value === undefined || !room.hasKey(key)) return;
  const meta = { ...own(state.traitMeta, key) };
  if (meta.u && meta.s !== undefined && t <= meta.s) return;
  if (meta.o !== undefined && t >= meta.o) return;
  meta.o = t;
  meta.ov = value as Json;
  settle(state, room, key, meta, currentSetValue(state, own(state.traitMeta, key) ?? {}, key));
}

function unsetTrait(state: ProfileState, room: TraitRoom, key: string, t: number): void {
  if (!room.hasKey(key)) return;
  const meta = { ...own(state.traitMeta, key) };
  if (meta.s !== undefined && t < meta.s) return;
  meta.s = t;
  meta.u = true;
  if (meta.o !== undefined && meta.o <= t) {
    delete meta.o;
    delete meta.ov;
  }
  settle(state, room, key, meta, undefined);
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
  limits: TraitLimits,
): void {
  const room = new TraitRoom(state, limits);
  const ctxTraits = isObj(ev.context) && isObj(ev.context['traits']) ? ev.context['traits'] : {};
  const traits = isObj(ev.traits) ? ev.traits : {};
  const props = isObj(ev.properties) ? ev.properties : {};
  const plainSets: Record<string, unknown>[] = [ctxTraits];
  if (ev.type === 'identify' || ev.type === 'alias') plainSets.push(traits);
  // Keys are escaped here too (idempotent): not every producer is the collector, and `$unset`
  // lists names as values, which nothing upstream escapes.
  for (const src of plainSets) {
    for (const [k, v] of Object.entries(src)) if (!OPS.includes(k)) setTrait(state, room, fieldKey(k), v, t);
  }
  for (const src of [ctxTraits, traits, props]) {
    if (isObj(src['$set_once'])) for (const [k, v] of Object.entries(src['$set_once'])) setTraitOnce(state, room, fieldKey(k), v, t);
  }
  for (const src of [ctxTraits, traits, props]) {
    if (isObj(src['$set'])) for (const [k, v] of Object.entries(src['$set'])) setTrait(state, room, fieldKey(k), v, t);
  }
  for (const src of [ctxTraits, traits, props]) {
    for (const k of unsetNames(src['$unset'])) unsetTrait(state, room, fieldKey(k), t);
  }
}

/**
 * Merge of two profiles' traits: the survivor's `$set`/`$unset` wins wherever it has one (the
 * loser's only where the survivor has none); `$set_once` keeps the earliest by event time
 * (then dropped if an `$unset` in force is later).
 */
export function foldTraits(survivor: ProfileState, loser: ProfileState, limits: TraitLimits): void {
  const room = new TraitRoom(survivor, limits);
  for (const [key, lm] of Object.entries(loser.traitMeta)) {
    const sm = own(survivor.traitMeta, key);
    if (!sm && !room.hasKey(key)) continue;
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
    settle(survivor, room, key, base, setValue);
  }
}
