/**
 * mosaic.js entry point (bundled into one IIFE by ../bundle.js): replaces the snippet's queue
 * stub `window.mosaic` with the real API and replays the calls made before the script loaded,
 * `load` first. Each stub call returned a promise; it settles with the real call's result.
 */
import { autocapture } from './autocapture';
import type { WindowLike } from './dom';
import { Tracker, VERSION, type CallOptions } from './tracker';
import type { ConsentPreferences, Props, TrackerOptions } from './types';
import { isObject } from './util';

type Call = unknown[] & { r?: (value: unknown) => void; j?: (error: unknown) => void };
type Fn = () => void;

const w = globalThis as unknown as WindowLike;
// The script's own URL (its origin is the default apiHost); only known while it first runs.
const src = w.document.currentScript ? w.document.currentScript.src : '';

function warn(err: unknown): void {
  if (w.console) w.console.warn('[mosaic]', err);
}

/** analytics.js argument styles: ids (strings/numbers) in order, objects in order, a callback anywhere. */
function split(args: unknown[]): { ids: string[]; objs: Props[]; fn?: Fn } {
  const ids: string[] = [];
  const objs: Props[] = [];
  let fn: Fn | undefined;
  for (const a of args) {
    if (typeof a === 'function') fn = a as Fn;
    else if (isObject(a)) objs.push(a);
    else if (typeof a === 'string' || typeof a === 'number') ids.push(String(a));
  }
  return { ids, objs, fn };
}

function install(): void {
  const prev = w.mosaic;
  if (prev && !Array.isArray(prev) && (prev as { VERSION?: string }).VERSION) return; // loaded twice
  const queued: Call[] = Array.isArray(prev) ? (prev as Call[]).slice() : [];
  let t: Tracker | undefined;
  const waiting: Call[] = [];

  const exec = (name: string, args: unknown[]): unknown => {
    const tr = t as Tracker;
    const { ids, objs, fn } = split(args);
    const opts = objs[1] as CallOptions | undefined;
    switch (name) {
      case 'page':
        return ids.length > 1 ? tr.page(ids[0], ids[1], objs[0], opts, fn) : tr.page(undefined, ids[0], objs[0], opts, fn);
      case 'track':
        return ids[0] ? tr.track(ids[0], objs[0], opts, fn) : undefined;
      case 'identify':
        return tr.identify(ids[0], objs[0], opts, fn);
      case 'alias':
        return ids[0] ? tr.alias(ids[0], ids[1], objs[0] as CallOptions | undefined, fn) : undefined;
      case 'reset':
        return tr.reset();
      case 'consent':
        return tr.consent(objs[0] as unknown as ConsentPreferences);
      case 'decide':
        return tr.decide(Array.isArray(args[0]) ? { slots: args[0] as string[] } : (objs[0] as { slots?: string[] }));
      case 'flush':
        return tr.flush();
      case 'ready':
        if (fn) fn();
        return Promise.resolve();
    }
    return undefined;
  };

  /** Runs a call now, or after `load` when the tracker is not configured yet. */
  const call = (name: string, args: unknown[], c?: Call): unknown => {
    if (!t && name !== 'load') {
      const entry: Call = c || [name, ...args];
      if (c) waiting.push(entry);
      else
        return new Promise((resolve, reject) => {
          entry.r = resolve;
          entry.j = reject;
          waiting.push(entry);
        });
      return undefined;
    }
    let result: unknown;
    try {
      result = name === 'load' ? load(args[0], args[1]) : exec(name, args);
    } catch (err) {
      warn(err);
      if (c && c.j) c.j(err);
      return undefined;
    }
    if (c && c.r) c.r(result);
    return result;
  };

  const load = (writeKey: unknown, options: unknown): void => {
    if (t) return;
    if (typeof writeKey !== 'string' || !writeKey) throw new Error('mosaic.load(writeKey, options): a write key is required');
    t = new Tracker(w, writeKey, isObject(options) ? (options as TrackerOptions) : {}, src);
    autocapture(t);
    for (const c of waiting.splice(0)) call(String(c[0]), c.slice(1), c);
  };

  const api: Record<string, unknown> = { VERSION };
  for (const name of ['load', 'page', 'track', 'identify', 'alias', 'reset', 'ready', 'consent', 'decide', 'flush']) {
    api[name] = (...args: unknown[]) => call(name, args);
  }
  /** The current visitor: `mosaic.user().anonymousId()`, `.id()`, `.traits()` (after load). */
  api['user'] = () => ({
    id: () => t && t.uid,
    anonymousId: () => t && t.aid,
    traits: () => Object.assign({}, t ? t.traits : {}),
  });
  w.mosaic = api;

  const first = queued.filter((c) => c[0] === 'load')[0];
  if (first) call('load', first.slice(1), first);
  for (const c of queued) if (c !== first && c[0] !== 'load') call(String(c[0]), c.slice(1), c);
}

install();
