/**
 * The tracker: identity (cookie + localStorage), consent, message building, delivery and the
 * public API. Browser code over the small interfaces of dom.ts; automatic collection is in
 * autocapture.ts, the page entry point in browser.ts.
 */
import { campaignFromQuery, landingCampaign, searchReferral } from './campaign';
import { domainCandidates, readCookie, serializeCookie } from './cookie';
import { EXPOSURE_EVENT, exposures, fetchDecision, noDecision, renderSlots, slotNames, type DecideRequest, type Decision } from './decide';
import type { StorageLike, WindowLike } from './dom';
import { resolveOptions, type ResolvedOptions } from './options';
import { Outbox, type QueueItem } from './outbox';
import { pageFields, pageKey } from './page';
import type { ConsentPreferences, Json, Message, MessageType, Props, TrackerOptions } from './types';
import { isObject, parseJson, uuid } from './util';

export const VERSION = '0.1.0';

/** Storage names (cookie and localStorage). */
export const KEYS = { aid: 'mosaic_aid', uid: 'mosaic_uid', traits: 'mosaic_traits', consent: 'mosaic_consent', queue: 'mosaic_q.' } as const;

/** Events held in memory while consent is still unknown (nothing leaves the page meanwhile). */
const MAX_PENDING = 100;

export interface CallOptions {
  context?: Props;
  timestamp?: string;
  anonymousId?: string;
}

export class Tracker {
  readonly o: ResolvedOptions;
  aid: string;
  uid: string | undefined;
  traits: Props = {};
  /** The referrer of the current page view: document.referrer, then the previous URL after SPA navigation. */
  referrer: string;
  readonly outbox: Outbox;
  private prefs: ConsentPreferences | undefined;
  /** May send and store. */
  private allowed: boolean;
  /** Consent was refused: events are dropped. */
  private denied = false;
  private pending: Message[] = [];
  private domain = '';
  private readonly queueKey: string;
  private readonly landingKey: string;
  private readonly landing: Props | undefined;
  private readonly ls: StorageLike | undefined;

  constructor(
    readonly w: WindowLike,
    readonly writeKey: string,
    options: TrackerOptions,
    scriptSrc: string,
  ) {
    this.o = resolveOptions(w, options, scriptSrc);
    try {
      this.ls = w.localStorage;
    } catch {
      this.ls = undefined;
    }
    const d = w.document;
    this.referrer = d.referrer;
    this.landingKey = pageKey(w.location);
    this.landing = landingCampaign(w.location.search, d.referrer);
    this.queueKey = KEYS.queue + this.id();
    this.aid = this.id();
    this.uid = undefined;
    this.outbox = new Outbox(
      {
        transport: {
          send: (body) =>
            w.fetch(`${this.o.apiHost}/v1/batch`, { method: 'POST', body, keepalive: true, credentials: 'omit' }).then(
              (r) => r.status,
              () => 0,
            ),
          beacon: (body) => !!(w.navigator.sendBeacon && w.navigator.sendBeacon(`${this.o.apiHost}/v1/batch`, body)),
        },
        body: (batch) => JSON.stringify({ writeKey, sentAt: new Date().toISOString(), batch }),
        save: (items) => this.set(this.queueKey, items.length ? JSON.stringify(items) : undefined),
        online: () => w.navigator.onLine !== false,
        now: () => Date.now(),
        random: () => Math.random(),
        setTimer: (fn, ms) => w.setTimeout(fn, ms),
        clearTimer: (h) => w.clearTimeout(h as number),
      },
      this.o,
    );
    const stored = parseJson(this.get(KEYS.consent));
    this.allowed = !this.o.requireConsent;
    if (isObject(stored) && typeof stored['analytics'] === 'boolean') {
      this.prefs = stored as ConsentPreferences;
      this.allowed = this.prefs.analytics;
      this.denied = !this.prefs.analytics;
    }
    if (this.allowed) this.start();
  }

  /** A random id (UUID v4). */
  id(): string {
    const c = this.w.crypto;
    return uuid((b) => {
      if (c && c.getRandomValues) c.getRandomValues(b);
      else for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
    });
  }

  // ---- storage (nothing is read or written without consent when it is required) ----

  private get(key: string): string | undefined {
    try {
      return (this.ls && this.ls.getItem(key)) || undefined;
    } catch {
      return undefined;
    }
  }

  private set(key: string, value: string | undefined): void {
    if (!this.allowed) return;
    try {
      if (!this.ls) return;
      if (value === undefined) this.ls.removeItem(key);
      else this.ls.setItem(key, value);
    } catch {
      /* storage full or blocked: the queue stays in memory */
    }
  }

  private cookie(value: string | undefined): void {
    const d = this.w.document;
    const secure = this.w.location.protocol === 'https:';
    const maxAge = value === undefined ? 0 : this.o.cookieDays * 86400;
    try {
      if (value === undefined) {
        d.cookie = serializeCookie(KEYS.aid, '', { maxAge: 0, secure });
        if (this.domain) d.cookie = serializeCookie(KEYS.aid, '', { maxAge: 0, domain: this.domain, secure });
      } else if (this.allowed) d.cookie = serializeCookie(KEYS.aid, value, { maxAge, domain: this.domain, secure });
    } catch {
      /* cookies disabled: localStorage carries the id */
    }
  }

  /** `cookieDomain: 'auto'`: the widest domain that accepts a cookie (the registrable domain). */
  private resolveDomain(): string {
    const want = this.o.cookieDomain;
    if (want !== 'auto') return want;
    const d = this.w.document;
    for (const cand of domainCandidates(this.w.location.hostname)) {
      try {
        d.cookie = serializeCookie('mosaic_probe', '1', { maxAge: 10, domain: cand });
        if (readCookie(d.cookie, 'mosaic_probe')) {
          d.cookie = serializeCookie('mosaic_probe', '', { maxAge: 0, domain: cand });
          return cand;
        }
      } catch {
        return '';
      }
    }
    return '';
  }

  /** Tracking may start: read the stored identity, refresh the cookie, take over the offline queue. */
  private start(): void {
    this.allowed = true;
    this.domain = this.resolveDomain();
    let cookies = '';
    try {
      cookies = this.w.document.cookie;
    } catch {
      cookies = '';
    }
    this.aid = readCookie(cookies, KEYS.aid) || this.get(KEYS.aid) || this.aid;
    this.uid = this.get(KEYS.uid) || undefined;
    const t = parseJson(this.get(KEYS.traits));
    this.traits = isObject(t) ? t : {};
    this.saveIdentity();
    const adopted: QueueItem[] = [];
    const ls = this.ls;
    try {
      for (let i = ls ? ls.length - 1 : -1; ls && i >= 0; i--) {
        const k = ls.key(i);
        if (!k || k.indexOf(KEYS.queue) !== 0 || k === this.queueKey) continue;
        const items = parseJson(ls.getItem(k));
        ls.removeItem(k);
        if (Array.isArray(items)) adopted.push(...(items as unknown as QueueItem[]));
      }
    } catch {
      /* storage blocked */
    }
    adopted.sort((a, b) => (a.m && b.m && a.m.timestamp < b.m.timestamp ? -1 : 1));
    this.outbox.adopt(adopted);
    for (const m of this.pending.splice(0)) {
      m.anonymousId = this.aid;
      if (this.uid && !m.userId) m.userId = this.uid;
      this.outbox.add(m);
    }
  }

  /** Writes the identity; the cookie's expiry moves a full `cookieDays` ahead each time (rolling). */
  private saveIdentity(): void {
    this.cookie(this.aid);
    this.set(KEYS.aid, this.aid);
    this.set(KEYS.uid, this.uid);
    this.set(KEYS.traits, Object.keys(this.traits).length ? JSON.stringify(this.traits) : undefined);
  }

  // ---- messages ----

  context(): Props {
    const w = this.w;
    const loc = w.location;
    const ctx: Props = {
      library: { name: 'mosaic.js', version: VERSION },
      page: pageFields(loc, this.referrer, w.document.title),
      locale: w.navigator.language,
    };
    const campaign = pageKey(loc) === this.landingKey ? this.landing : campaignFromQuery(loc.search);
    if (campaign) ctx['campaign'] = campaign;
    try {
      ctx['timezone'] = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch {
      /* no Intl */
    }
    if (w.screen) ctx['screen'] = { width: w.screen.width, height: w.screen.height, density: w.devicePixelRatio };
    if (this.prefs) ctx['consent'] = { categoryPreferences: this.prefs as unknown as Json };
    return ctx;
  }

  /** Builds a message and queues it (or holds it until consent, or drops it when consent was refused). */
  send(type: MessageType, fields: Partial<Message>, options?: CallOptions, callback?: () => void): void {
    if (!this.denied) {
      const m: Message = { type, messageId: this.id(), anonymousId: this.aid, userId: this.uid, context: this.context(), timestamp: new Date().toISOString() };
      Object.assign(m, fields);
      if (isObject(options)) {
        if (isObject(options.context)) for (const k in options.context) m.context[k] = options.context[k];
        if (typeof options.timestamp === 'string') m.timestamp = options.timestamp;
        if (typeof options.anonymousId === 'string') m.anonymousId = options.anonymousId;
      }
      if (this.allowed) this.outbox.add(m);
      else if (this.pending.push(m) > MAX_PENDING) this.pending.shift();
    }
    if (typeof callback === 'function') {
      // analytics.js semantics: called once the event is sent, or after 300 ms at the latest.
      let done = false;
      const call = (): void => {
        if (!done) {
          done = true;
          callback();
        }
      };
      this.w.setTimeout(call, 300);
      if (this.allowed) void this.outbox.flush().then(call, call);
    }
  }

  page(category?: string, name?: string, properties?: Props, options?: CallOptions, callback?: () => void): void {
    const props: Props = pageFields(this.w.location, this.referrer, this.w.document.title);
    if (pageKey(this.w.location) === this.landingKey && this.referrer === this.w.document.referrer) {
      const s = searchReferral(this.referrer);
      if (s) {
        props['search_engine'] = s.engine;
        props['search_keyword'] = s.keyword;
      }
    }
    if (name) props['name'] = name;
    if (category) props['category'] = category;
    if (isObject(properties)) for (const k in properties) props[k] = properties[k];
    this.send('page', { name, category, properties: props }, options, callback);
  }

  track(event: string, properties?: Props, options?: CallOptions, callback?: () => void): void {
    if (typeof event !== 'string' || !event) return;
    this.send('track', { event, properties: isObject(properties) ? properties : {} }, options, callback);
  }

  identify(userId?: string | number | null, traits?: Props, options?: CallOptions, callback?: () => void): void {
    if (userId !== undefined && userId !== null && userId !== '') {
      const id = String(userId);
      // Someone else signed in on this browser: the previous person's traits are not theirs.
      if (this.uid && this.uid !== id) this.traits = {};
      this.uid = id;
    }
    if (isObject(traits)) for (const k in traits) this.traits[k] = traits[k];
    this.saveIdentity();
    const snapshot: Props = {};
    for (const k in this.traits) snapshot[k] = this.traits[k];
    this.send('identify', { userId: this.uid, traits: snapshot }, options, callback);
  }

  alias(userId: string | number, previousId?: string | number, options?: CallOptions, callback?: () => void): void {
    if (userId === undefined || userId === null || userId === '') return;
    this.send(
      'alias',
      { userId: String(userId), previousId: previousId !== undefined && previousId !== null ? String(previousId) : this.uid || this.aid },
      options,
      callback,
    );
  }

  /** Forgets the visitor: user id, traits and the anonymous id (a new one is made). */
  reset(): void {
    this.uid = undefined;
    this.traits = {};
    this.cookie(undefined);
    this.set(KEYS.uid, undefined);
    this.set(KEYS.traits, undefined);
    this.set(KEYS.aid, undefined);
    this.aid = this.id();
    if (this.allowed) this.saveIdentity();
  }

  /**
   * Records the visitor's choice. `analytics: true` starts tracking (the cookie is set, held
   * events are sent) and records a `Consent Updated` event; `analytics: false` records it (only
   * if tracking was allowed before), then stops and removes everything stored.
   */
  consent(prefs: ConsentPreferences): void {
    if (!isObject(prefs)) return;
    const p: ConsentPreferences = { analytics: prefs.analytics === true };
    for (const k in prefs) if (typeof prefs[k] === 'boolean') p[k] = prefs[k] as boolean;
    const was = this.allowed;
    this.prefs = p;
    if (p.analytics) {
      this.denied = false;
      if (!was) this.start();
      this.set(KEYS.consent, JSON.stringify(p));
      this.track('Consent Updated', p);
      return;
    }
    this.pending = [];
    if (was) {
      this.track('Consent Updated', p);
      this.outbox.unload();
    }
    this.cookie(undefined);
    for (const k of [KEYS.aid, KEYS.uid, KEYS.traits, KEYS.consent, this.queueKey]) this.set(k, undefined);
    this.allowed = false;
    this.denied = true;
  }

  /** Sends what is queued (one request after another, until empty or one fails). */
  async flush(): Promise<void> {
    for (let i = 0; i < 20 && this.allowed && this.outbox.items.length; i++) {
      const before = this.outbox.items.length;
      await this.outbox.flush();
      if (this.outbox.items.length >= before) return;
    }
  }

  /**
   * Asks the decision API (`POST <activationHost>/v1/decide`) which content the page's slots
   * (`data-mosaic-slot`) should show for this visitor, and renders it into them. When the
   * service answers 404 (not deployed) or consent is missing, it resolves with no decision and
   * the page keeps its default content; other failures reject. `userHash` (hex
   * HMAC-SHA256 of the user id with the source's identity secret, from the site's server)
   * lets the decision use the identified user's profile. Each slot rendered with an experience's
   * content is recorded as an `Experience Viewed` event (unless `trackExposures: false`), so the
   * profile's timeline says what the visitor was shown; `render: false` records nothing (the page
   * shows the content itself, and may track the event itself).
   */
  decide(request?: { slots?: string[]; render?: boolean; userHash?: string; [k: string]: unknown }): Promise<Decision> {
    const r: DecideRequest = isObject(request) ? request : {};
    const elements = this.w.document.querySelectorAll('[data-mosaic-slot]');
    const slots = slotNames(r, elements);
    if (!this.allowed) return Promise.resolve(noDecision());
    // A browser is anonymous to the decision API: the user id goes along only with the userHash
    // the site's server computed for it (identity verification); without it, the anonymous id.
    const verified = typeof r.userHash === 'string' && r.userHash !== '' && this.uid;
    const body = JSON.stringify({
      writeKey: this.writeKey,
      anonymousId: this.aid,
      userId: verified ? this.uid : undefined,
      userHash: verified ? r.userHash : undefined,
      slots,
      context: this.context(),
    });
    return fetchDecision(this.w, `${this.o.activationHost}/v1/decide`, body, this.o.decideTimeout).then((d) => {
      if (r.render === false) return d;
      const shown = renderSlots(elements, d);
      if (this.o.trackExposures) for (const p of exposures(d, shown)) this.track(EXPOSURE_EVENT, p);
      return d;
    });
  }
}
