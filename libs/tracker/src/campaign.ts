/**
 * Where a visitor came from: UTM parameters, ad click ids and search-engine keywords.
 * Pure functions over URL strings.
 */
import type { Props } from './types';
import { truncate } from './util';

/** `?a=1&b=x%20y` → `{a: '1', b: 'x y'}` (first value wins; `+` is a space). */
export function parseQuery(search: string): Record<string, string> {
  const out: Record<string, string> = {};
  const q = search.charAt(0) === '?' ? search.slice(1) : search;
  for (const part of q.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    if (k && !(k in out)) out[k] = eq < 0 ? '' : decode(part.slice(eq + 1));
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Click ids of ad networks, and the source/medium they imply when no `utm_source` is given. */
export const CLICK_IDS: Readonly<Record<string, readonly [source: string, medium: string]>> = {
  gclid: ['google', 'cpc'],
  gbraid: ['google', 'cpc'],
  wbraid: ['google', 'cpc'],
  dclid: ['google', 'display'],
  msclkid: ['bing', 'cpc'],
  fbclid: ['facebook', 'social'],
  ttclid: ['tiktok', 'cpc'],
  li_fat_id: ['linkedin', 'cpc'],
  twclid: ['twitter', 'cpc'],
};

/**
 * Segment's `context.campaign` from a query string: `utm_campaign` → `name`, other `utm_x` → `x`;
 * click ids are kept under their own names (and imply source/medium when UTM does not say).
 * Undefined when the URL carries none of them.
 */
export function campaignFromQuery(search: string): Props | undefined {
  const q = parseQuery(search);
  const c: Props = {};
  let any = false;
  for (const k in q) {
    const v = q[k] as string;
    if (k.indexOf('utm_') === 0 && k.length > 4 && v) {
      c[k === 'utm_campaign' ? 'name' : k.slice(4)] = v;
      any = true;
    } else if (CLICK_IDS[k] && v) {
      c[k] = v;
      const implied = CLICK_IDS[k] as readonly [string, string];
      if (!q['utm_source']) {
        c['source'] = c['source'] || implied[0];
        c['medium'] = c['medium'] || implied[1];
      }
      any = true;
    }
  }
  return any ? c : undefined;
}

/** Search engines: host pattern, name, and the query parameters that may carry the keywords. */
export const SEARCH_ENGINES: ReadonlyArray<readonly [host: RegExp, name: string, params: readonly string[]]> = [
  [/(^|\.)google\.[a-z.]+$/, 'google', ['q']],
  [/(^|\.)bing\.com$/, 'bing', ['q']],
  [/(^|\.)yahoo\.(com|co\.[a-z]+|[a-z]{2})$/, 'yahoo', ['p', 'q']],
  [/(^|\.)duckduckgo\.com$/, 'duckduckgo', ['q']],
  [/(^|\.)yandex\.[a-z.]+$|(^|\.)ya\.ru$/, 'yandex', ['text']],
  [/(^|\.)baidu\.com$/, 'baidu', ['wd', 'word']],
  [/(^|\.)ecosia\.org$/, 'ecosia', ['q']],
  [/(^|\.)qwant\.com$/, 'qwant', ['q']],
  [/(^|\.)startpage\.com$/, 'startpage', ['query', 'q']],
  [/(^|\.)search\.brave\.com$/, 'brave', ['q']],
  [/(^|\.)ask\.com$/, 'ask', ['q']],
  [/(^|\.)search\.aol\.com$/, 'aol', ['q', 'query']],
  [/(^|\.)naver\.com$/, 'naver', ['query']],
  [/(^|\.)seznam\.cz$/, 'seznam', ['q']],
];

export interface SearchReferral {
  engine: string;
  /** Absent when the engine hides it (Google mostly does). */
  keyword?: string;
}

/** Splits an absolute URL into host, path and query without the URL API (and never throws). */
export function splitUrl(url: string): { host: string; path: string; search: string } | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^:/?#]+)(?::\d+)?([^?#]*)(\?[^#]*)?/i.exec(url);
  return m ? { host: (m[1] as string).toLowerCase(), path: m[2] || '/', search: m[3] || '' } : undefined;
}

/** The search engine and keywords a referrer URL names, if it is a search engine's. */
export function searchReferral(referrer: string): SearchReferral | undefined {
  const u = splitUrl(referrer);
  if (!u) return undefined;
  for (const [host, engine, params] of SEARCH_ENGINES) {
    if (!host.test(u.host)) continue;
    // Google Maps, Mail, Docs… are not searches.
    if (engine === 'google' && /^(mail|docs|drive|maps|accounts|support)\./.test(u.host)) return undefined;
    const q = parseQuery(u.search);
    for (const p of params) {
      const kw = (q[p] || '').trim();
      if (kw) return { engine, keyword: truncate(kw, 200) };
    }
    return { engine };
  }
  return undefined;
}

/**
 * The campaign of a landing page: UTM and click ids from its URL; else, when the visitor
 * came from a search engine, `{source: engine, medium: 'organic', term: keywords}`.
 */
export function landingCampaign(search: string, referrer: string): Props | undefined {
  const fromUrl = campaignFromQuery(search);
  if (fromUrl) return fromUrl;
  const s = searchReferral(referrer);
  return s ? { source: s.engine, medium: 'organic', term: s.keyword } : undefined;
}
