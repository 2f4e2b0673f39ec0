/**
 * Automatic collection, each kind switchable by `autocapture`: page views (also on History API
 * navigation), clicks on links and buttons, form submissions (with an `identify` from marked
 * fields), page exit with time on page and scroll depth, and HTML5 video. Also the page
 * lifecycle of delivery: sendBeacon when the page is hidden or left, a retry when back online.
 */
import type { AnchorElement, ElementLike, EventLike, FieldElement, FormElement, VideoElement } from './dom';
import { identifyFromFields } from './fields';
import { pageKey, scrollDepth } from './page';
import type { Props } from './types';
import { dataProps, shortText } from './util';
import { VideoSession } from './video';
import type { Tracker } from './tracker';

const CLICKABLE = 'a,button,input[type=submit],input[type=button],[role=button],[data-mosaic-event]:not(form)';
const MEDIA_EVENTS = ['play', 'pause', 'seeking', 'seeked', 'timeupdate', 'ended'];

function isElement(v: unknown): v is ElementLike {
  return !!v && typeof (v as ElementLike).closest === 'function';
}

export function autocapture(t: Tracker): void {
  const w = t.w;
  const d = w.document;
  const ac = t.o.autocapture;
  const now = (): number => Date.now();

  // ---- time on page and scroll depth of the current page view ----
  let shown = 0; // ms of visible time before the current visible stretch
  let since = d.visibilityState === 'hidden' ? 0 : now();
  let depth = 0;
  let armed = true;
  const measure = (): void => {
    const h = Math.max(d.documentElement.scrollHeight, d.body ? d.body.scrollHeight : 0);
    depth = Math.max(depth, scrollDepth(w.pageYOffset, w.innerHeight, h));
  };
  const startView = (): void => {
    shown = 0;
    since = d.visibilityState === 'hidden' ? 0 : now();
    depth = 0;
    armed = true;
    measure();
  };
  const exit = (): void => {
    if (!ac.exit || !armed) return;
    armed = false;
    measure();
    const ms = shown + (since ? now() - since : 0);
    t.track('Page Exited', { time_on_page: Math.round(ms / 100) / 10, scroll_depth: depth, path: w.location.pathname });
  };
  startView();
  if (ac.exit) w.addEventListener('scroll', measure, { passive: true });

  // ---- page views, also for single-page apps ----
  let current = pageKey(w.location);
  let url = w.location.href;
  if (ac.pageviews) t.page();
  const navigated = (): void => {
    const key = pageKey(w.location);
    if (key === current) return;
    exit();
    t.referrer = url;
    current = key;
    url = w.location.href;
    startView();
    if (ac.pageviews) t.page();
  };
  if (ac.spa) {
    const h = w.history;
    for (const method of ['pushState', 'replaceState'] as const) {
      const original = h[method];
      h[method] = function (this: unknown, ...args: unknown[]) {
        const r = original.apply(this, args);
        try {
          navigated();
        } catch {
          /* never break the page's navigation */
        }
        return r;
      };
    }
    w.addEventListener('popstate', navigated);
  }

  // ---- clicks on links and buttons ----
  if (ac.clicks) {
    d.addEventListener(
      'click',
      (e: EventLike) => {
        const el = isElement(e.target) ? e.target.closest(CLICKABLE) : null;
        if (!el || el.closest('[data-mosaic-ignore]')) return;
        const link = el.tagName === 'A' ? (el as AnchorElement) : undefined;
        const props: Props = { text: shortText(el.textContent) || shortText(el.getAttribute('value')) || shortText(el.getAttribute('aria-label')) || undefined, id: el.getAttribute('id') || undefined };
        if (link && link.href) {
          props['href'] = link.href;
          props['outbound'] = !!link.hostname && link.hostname !== w.location.hostname;
        }
        const extra = dataProps(el.attributes);
        for (const k in extra) props[k] = extra[k];
        t.track(el.getAttribute('data-mosaic-event') || (link ? 'Link Clicked' : 'Button Clicked'), props);
        // The click may leave the page: send now (a keep-alive request outlives the page).
        void t.outbox.flush();
      },
      true,
    );
  }

  // ---- form submissions ----
  if (ac.forms) {
    d.addEventListener(
      'submit',
      (e: EventLike) => {
        const form = e.target as FormElement;
        if (!isElement(form) || form.closest('[data-mosaic-ignore]')) return;
        const fields: FieldElement[] = Array.prototype.slice.call(form.elements || []);
        const id = identifyFromFields(
          fields.map((f) => ({
            type: String(f.type || f.tagName).toLowerCase(),
            name: f.name || '',
            id: f.id || '',
            autocomplete: f.getAttribute('autocomplete') || '',
            identify: f.getAttribute('data-mosaic-identify') || '',
            value: String(f.value || ''),
            checked: f.checked,
          })),
        );
        if (id) t.identify(id.userId, id.traits);
        // getAttribute: form.id / form.name may be shadowed by fields called "id" or "name".
        const props: Props = { form_id: form.getAttribute('id') || undefined, form_name: form.getAttribute('name') || undefined, action: form.getAttribute('action') || undefined };
        const extra = dataProps(form.attributes);
        for (const k in extra) props[k] = extra[k];
        t.track(form.getAttribute('data-mosaic-event') || 'Form Submitted', props);
        void t.outbox.flush();
      },
      true,
    );
  }

  // ---- HTML5 video (media events do not bubble, but they are seen while capturing) ----
  if (ac.video) {
    const sessions: { el: VideoElement; s: VideoSession }[] = [];
    const onMedia = (e: EventLike): void => {
      const el = e.target as VideoElement;
      if (!isElement(el) || el.tagName !== 'VIDEO' || el.closest('[data-mosaic-ignore]')) return;
      let entry = sessions.filter((x) => x.el === el)[0];
      if (!entry) {
        const src = el.currentSrc || '';
        const base: Props = {
          content_asset_id: el.getAttribute('data-mosaic-video-id') || el.getAttribute('id') || src.split('?')[0]!.split('/').pop() || undefined,
          title: el.getAttribute('data-mosaic-title') || el.getAttribute('title') || el.getAttribute('aria-label') || undefined,
        };
        const extra = dataProps(el.attributes);
        for (const k in extra) base[k] = extra[k];
        entry = { el, s: new VideoSession(() => t.id(), t.o.videoHeartbeat * 1000, base) };
        sessions.push(entry);
      }
      const state = { position: el.currentTime, duration: el.duration, volume: el.volume, muted: el.muted, fullScreen: !!d.fullscreenElement, ended: el.ended, seeking: el.seeking };
      for (const [name, props] of entry.s.handle(e.type, state, now())) t.track(name, props);
    };
    for (const type of MEDIA_EVENTS) d.addEventListener(type, onMedia, true);
  }

  // ---- leaving: exit event, then everything queued goes out with sendBeacon ----
  const leave = (): void => {
    exit();
    if (since) shown += now() - since;
    since = 0;
    t.outbox.unload();
  };
  w.addEventListener('pagehide', leave);
  d.addEventListener('visibilitychange', () => {
    if (d.visibilityState === 'hidden') leave();
    else if (!since) {
      // Back on the page: keep counting this page view's visible time.
      since = now();
      armed = true;
    }
  });
  w.addEventListener('online', () => void t.outbox.flush());
}
