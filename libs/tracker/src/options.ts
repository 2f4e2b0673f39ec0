/** The tracker's options with their defaults applied (hosts, cookie, autocapture switches, delivery tuning). */
import type { WindowLike } from './dom';
import { normalizeDomain } from './cookie';
import type { AutocaptureOptions, TrackerOptions } from './types';
import { isObject } from './util';

export type ResolvedOptions = Required<Omit<TrackerOptions, 'autocapture'>> & { autocapture: Required<AutocaptureOptions> };

export function resolveOptions(w: WindowLike, o: TrackerOptions, scriptSrc: string): ResolvedOptions {
  const origin = (u: string): string | undefined => {
    const m = /^(https?:\/\/[^/?#]+)/i.exec(u);
    return m ? m[1] : undefined;
  };
  const host = (u: string | undefined): string | undefined => (u ? (/^https?:\/\//i.test(u) ? u : `https://${u}`).replace(/\/+$/, '') : undefined);
  const apiHost = host(o.apiHost) || origin(scriptSrc) || origin(w.location.href) || '';
  const ac = o.autocapture;
  const on = (k: keyof AutocaptureOptions): boolean => ac !== false && !(isObject(ac) && ac[k] === false);
  const num = (v: number | undefined, d: number, min: number): number => (typeof v === 'number' && v >= min ? v : d);
  return {
    apiHost,
    activationHost: host(o.activationHost) || apiHost,
    cookieDomain: normalizeDomain(o.cookieDomain),
    cookieDays: num(o.cookieDays, 365, 0),
    requireConsent: !!o.requireConsent,
    autocapture: { pageviews: on('pageviews'), spa: on('spa'), clicks: on('clicks'), forms: on('forms'), exit: on('exit'), video: on('video') },
    flushInterval: num(o.flushInterval, 1000, 0),
    flushAt: num(o.flushAt, 20, 1),
    maxQueue: num(o.maxQueue, 200, 1),
    retryBase: num(o.retryBase, 1000, 10),
    retryMax: num(o.retryMax, 60_000, 10),
    videoHeartbeat: num(o.videoHeartbeat, 10, 0.1),
    decideTimeout: num(o.decideTimeout, 2000, 1),
    trackExposures: o.trackExposures !== false,
  };
}
