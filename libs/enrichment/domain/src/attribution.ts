/**
 * Touch classification for first/last-touch attribution, from `context.page` (url, referrer,
 * search) and `context.campaign` (UTM: source, medium, name, term, content).
 *
 * Precedence: click id in the landing URL (`gclid` google, `msclkid` bing, `fbclid` facebook)
 * → paid; else a UTM medium (cpc, ppc, paid…, display, cpm, … → paid, email/newsletter → email,
 * social… → social, organic → search, anything else → other); else the referrer: same host as
 * the page (ignoring `www.`) → internal (not a touch); a known search engine → search (with
 * the keyword from `q`/`p`/`query`/`text`/`wd` when the referrer still carries it); a known
 * social network → social; a webmail host → email; any other host → referral; no referrer and
 * no campaign → direct.
 */
import type { Medium, Touch } from './state';
import { obj, str } from './util';

const SEARCH: [RegExp, string][] = [
  [/(^|\.)google\.[a-z.]+$/, 'google'],
  [/(^|\.)bing\.com$/, 'bing'],
  [/(^|\.)search\.yahoo\.[a-z.]+$|(^|\.)yahoo\.[a-z.]+$/, 'yahoo'],
  [/(^|\.)duckduckgo\.com$/, 'duckduckgo'],
  [/(^|\.)baidu\.com$/, 'baidu'],
  [/(^|\.)yandex\.[a-z.]+$/, 'yandex'],
  [/(^|\.)ecosia\.org$/, 'ecosia'],
  [/(^|\.)qwant\.com$/, 'qwant'],
  [/(^|\.)ask\.com$/, 'ask'],
];
const SOCIAL: [RegExp, string][] = [
  [/(^|\.)facebook\.com$|(^|\.)fb\.com$|^m\.facebook\.com$/, 'facebook'],
  [/^t\.co$|(^|\.)twitter\.com$|(^|\.)x\.com$/, 'twitter'],
  [/(^|\.)linkedin\.com$|^lnkd\.in$/, 'linkedin'],
  [/(^|\.)instagram\.com$/, 'instagram'],
  [/(^|\.)pinterest\.[a-z.]+$/, 'pinterest'],
  [/(^|\.)reddit\.com$/, 'reddit'],
  [/(^|\.)youtube\.com$/, 'youtube'],
  [/(^|\.)tiktok\.com$/, 'tiktok'],
];
const WEBMAIL: [RegExp, string][] = [
  [/^mail\.google\.com$/, 'gmail'],
  [/^outlook\.(live|office)\.com$/, 'outlook'],
  [/^mail\.yahoo\.com$/, 'yahoo-mail'],
];
const SEARCH_PARAMS = ['q', 'p', 'query', 'text', 'wd', 'k'];
const CLICK_IDS: ['gclid' | 'msclkid' | 'fbclid', string][] = [
  ['gclid', 'google'],
  ['msclkid', 'bing'],
  ['fbclid', 'facebook'],
];

function parseUrl(u: string | undefined): URL | undefined {
  if (!u) return undefined;
  try {
    const url = new URL(u);
    return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'android-app:' ? url : undefined;
  } catch {
    return undefined;
  }
}

export function bareHost(host: string): string {
  return host.toLowerCase().replace(/^www\./, '');
}

function match(list: [RegExp, string][], host: string): string | undefined {
  for (const [re, name] of list) if (re.test(host)) return name;
  return undefined;
}

export function mediumFromUtm(m: string): Medium {
  const v = m.toLowerCase();
  if (/^(cpc|ppc|paid.*|display|cpm|cpv|cpa|banner|retargeting|affiliate|paidsearch|paid_social|paidsocial|sem)$/.test(v)) return 'paid';
  if (/^(e-?mail|newsletter)$/.test(v)) return 'email';
  if (/^(social.*|sm|social-network|social-media)$/.test(v)) return 'social';
  if (/^(organic|search)$/.test(v)) return 'search';
  if (v === 'referral') return 'referral';
  return 'other';
}

/**
 * The touch an event represents, or `undefined` when it is internal navigation (or carries no
 * page or campaign context at all).
 */
export function classifyTouch(context: unknown, at: string): Touch | undefined {
  const ctx = obj(context);
  const page = obj(ctx['page']);
  const campaign = obj(ctx['campaign']);
  const pageUrl = parseUrl(str(page['url'], 2048));
  const refUrl = parseUrl(str(page['referrer'], 2048));
  const hasPage = Object.keys(page).length > 0;
  const hasCampaign = Object.keys(campaign).length > 0;
  if (!hasPage && !hasCampaign) return undefined;

  const touch: Touch = { at, medium: 'direct' };
  if (pageUrl) touch.landingPage = `${pageUrl.host}${pageUrl.pathname}`.slice(0, 512);
  const utm = {
    source: str(campaign['source'], 200) ?? pageUrl?.searchParams.get('utm_source') ?? undefined,
    medium: str(campaign['medium'], 200) ?? pageUrl?.searchParams.get('utm_medium') ?? undefined,
    name: str(campaign['name'], 200) ?? pageUrl?.searchParams.get('utm_campaign') ?? undefined,
    term: str(campaign['term'], 200) ?? pageUrl?.searchParams.get('utm_term') ?? undefined,
    content: str(campaign['content'], 200) ?? pageUrl?.searchParams.get('utm_content') ?? undefined,
  };
  if (utm.name) touch.campaign = utm.name;
  if (utm.term) touch.term = utm.term;
  if (utm.content) touch.content = utm.content;
  if (utm.source) touch.source = utm.source.toLowerCase();

  const refHost = refUrl ? bareHost(refUrl.hostname) : undefined;
  const pageHost = pageUrl ? bareHost(pageUrl.hostname) : undefined;
  if (refHost) touch.referrerDomain = refHost;

  const searchParams = pageUrl?.searchParams ?? new URLSearchParams(str(page['search'], 2048) ?? '');
  const clickId = CLICK_IDS.find(([p]) => searchParams.get(p));
  if (clickId) {
    touch.medium = 'paid';
    touch.clickId = clickId[0];
    touch.source ??= clickId[1];
    return touch;
  }
  if (utm.medium) {
    touch.medium = mediumFromUtm(utm.medium);
    if (touch.medium === 'search' && refUrl) touch.keyword = keyword(refUrl);
    return touch;
  }
  if (!refHost) return utm.source ? { ...touch, medium: 'other' } : touch;
  if (pageHost && refHost === pageHost) return utm.source ? { ...touch, medium: 'other' } : undefined;
  const engine = match(SEARCH, refHost);
  if (engine && !/^mail\./.test(refHost)) {
    touch.medium = 'search';
    touch.source ??= engine;
    const kw = refUrl ? keyword(refUrl) : undefined;
    if (kw) touch.keyword = kw;
    return touch;
  }
  const mail = match(WEBMAIL, refHost);
  if (mail) return { ...touch, medium: 'email', source: touch.source ?? mail };
  const social = match(SOCIAL, refHost);
  if (social) return { ...touch, medium: 'social', source: touch.source ?? social };
  return { ...touch, medium: 'referral', source: touch.source ?? refHost };
}

function keyword(ref: URL): string | undefined {
  for (const p of SEARCH_PARAMS) {
    const v = ref.searchParams.get(p);
    if (v && v.trim()) return v.trim().slice(0, 200);
  }
  return undefined;
}

/** First touch: the earliest touch by event time (direct included). */
export function earlierTouch(a: Touch | undefined, b: Touch | undefined): Touch | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.at < a.at ? b : a;
}

/** Last touch: the latest non-direct touch; direct only while there is no other. */
export function laterTouch(a: Touch | undefined, b: Touch | undefined): Touch | undefined {
  if (!a) return b;
  if (!b) return a;
  const ad = a.medium === 'direct';
  const bd = b.medium === 'direct';
  if (ad !== bd) return ad ? b : a;
  return b.at > a.at ? b : a;
}
