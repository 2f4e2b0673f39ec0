/**
 * Steps of `applyEvent` for what every event may carry: identifiers, sources and traits, when
 * the person was seen, sessions and page views, attribution touches, device and geo, video,
 * and the day's bucket.
 */
import type { Identifier, ResolvedEvent } from '@mosaic/contracts';
import { classifyTouch, earlierTouch, laterTouch } from './attribution';
import { addDaily, upsertCounted } from './collections';
import { countryOfIp, parseUserAgent } from './device';
import type { EventStep } from './event-step';
import { addToSessions } from './sessions';
import { withSources } from './state';
import { applyTraitWrites } from './traits';
import { applyVideoEvent, videoStateOf, videoView } from './video/apply';
import { fieldKey, isObj, maxDefined, minDefined, ms, iso, str } from './util';

/** Events sent by systems about the person rather than by the person (no activity). */
const SYSTEM_EVENTS = new Set(['Email Sent', 'Email Delivered', 'Email Bounced', 'Email Marked as Spam', 'Email Unsubscribed']);
const EMAIL_PREFIX = /^Email /;

export function addIdentifiers(list: Identifier[], more: unknown, max: number): Identifier[] {
  const out = [...list];
  const seen = new Set(list.map((i) => `${i.type}\u0000${i.value}`));
  if (!Array.isArray(more)) return out;
  for (const i of more) {
    const type = isObj(i) ? str(i['type'], 64) : undefined;
    const value = isObj(i) ? str(i['value'], 512) : undefined;
    if (!type || !value || out.length >= max) continue;
    const k = `${type}\u0000${value}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ type, value });
    }
  }
  return out;
}

/** Identifiers, sources and trait writes. */
export function applyIdentity(x: EventStep, resolved: ResolvedEvent, ev: Partial<ResolvedEvent['event']>): void {
  x.s.identifiers = addIdentifiers(x.s.identifiers, resolved.identifiers, x.cfg.maxIdentifiers);
  x.c.sources = withSources(x.c.sources, [str(ev.sourceId, 256)]);
  applyTraitWrites(x.s, ev, x.t, x.cfg);
}

/** First and last seen: activity of the person, not of systems about them. */
export function applySeen({ c, t, name }: EventStep): void {
  if (name !== undefined && SYSTEM_EVENTS.has(name)) return;
  c.firstSeen = iso(minDefined(ms(c.firstSeen), t) as number);
  c.lastSeen = iso(maxDefined(ms(c.lastSeen), t) as number);
}

/** Sessions (activity from a browser or app: page/screen, or a track with page/UA context) and page views. */
export function applySessionsAndPages(x: EventStep, ev: Partial<ResolvedEvent['event']>): void {
  const { c, I, cfg, type, name, context } = x;
  const isPage = type === 'page' || type === 'screen';
  const interactive =
    isPage || (type === 'track' && !(name && EMAIL_PREFIX.test(name)) && (isObj(context['page']) || typeof context['userAgent'] === 'string'));
  if (interactive) {
    const r = addToSessions(I.sessions, x.t, isPage, cfg.sessionGapMinutes * 60_000, cfg.maxSessions);
    I.sessions = r.sessions;
    I.sessionsDropped += r.dropped;
  }
  if (isPage) {
    c.pageViews += 1;
    const cat = str(ev.category, 256) ?? str(x.props['category'], 256);
    if (cat) c.categoriesVisited = upsertCounted(c.categoriesVisited, { key: cat, lastAt: x.at }, 1, cfg.maxCategories);
  }
}

/** First and last touch (pages, and events carrying a campaign). */
export function applyAttribution({ c, type, context, at }: EventStep): void {
  if (type !== 'page' && type !== 'screen' && !isObj(context['campaign'])) return;
  const touch = classifyTouch(context, at);
  if (touch) {
    c.firstTouch = earlierTouch(c.firstTouch, touch);
    c.lastTouch = laterTouch(c.lastTouch, touch);
  }
}

/** Device (and bot) from the user agent, country from the IP: the latest by event time wins. */
export function applyDeviceAndGeo({ c, I, t, at, context }: EventStep): void {
  const ua = str(context['userAgent'], 2048);
  if (ua) {
    const d = parseUserAgent(ua);
    if (d.bot) c.bot = true;
    if (I.deviceAt === undefined || t >= I.deviceAt) {
      I.deviceAt = t;
      const { bot: _bot, ...rest } = d;
      c.device = { ...rest, at };
    }
  }
  const country = countryOfIp(context['ip']);
  if (country && (I.geoAt === undefined || t >= I.geoAt)) {
    I.geoAt = t;
    c.geo = { country, at };
  }
}

export function applyVideo({ c, I, cfg, t, name, props, messageId }: EventStep): void {
  if (!name || !name.startsWith('Video ') || !messageId) return;
  I.video = applyVideoEvent(videoStateOf(I, c.video), name, props, t, messageId, cfg);
  c.video = videoView(I.video, cfg);
}

/** The event (by name, or `(type)`), its revenue and order in its day's bucket. */
export function addToDailyBucket({ c, cfg, t, name, type, revenue, orders }: EventStep): void {
  const bucketName = name !== undefined ? fieldKey(name) : `(${type})`;
  addDaily(c.daily, t, bucketName, revenue, orders, cfg);
}
