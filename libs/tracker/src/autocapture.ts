/**
 * Automatic collection, each kind switchable by `autocapture`: page views (also on History API
 * navigation), clicks on links and buttons, form submissions (with an `identify` from marked
 * fields), page exit with time on page and scroll depth, and HTML5 video. Also the page
 * lifecycle of delivery: sendBeacon when the page is hidden or left, a retry when back online.
 */
import type { AnchorElement, ElementLike, EventLike, FieldElement, FormElement, VideoElement } from './dom';
import { identifyFromFields } from './fields';
import { PageVisit, pageKey, scrollDepth } from './page';
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
  const ac = t.o.autocapture;
  const view = new PageVisit();
  startView(t, view);
  if (ac.exit) t.w.addEventListener('scroll', () => measureView(t, view), { passive: true });
  capturePageViews(t, view);
  if (ac.clicks) t.w.document.addEventListener('click', (e: EventLike) => onClick(t, e), true);
  if (ac.forms) t.w.document.addEventListener('submit', (e: EventLike) => onSubmit(t, e), true);
  if (ac.video) captureVideo(t);
  captureLeaving(t, view);
}

// ---- time on page and scroll depth of the current page view ----

function isVisible(t: Tracker): boolean {
  return t.w.document.visibilityState !== 'hidden';
}

function measureView(t: Tracker, view: PageVisit): void {
  const d = t.w.document;
  const h = Math.max(d.documentElement.scrollHeight, d.body ? d.body.scrollHeight : 0);
  view.scrolled(scrollDepth(t.w.pageYOffset, t.w.innerHeight, h));
}

function startView(t: Tracker, view: PageVisit): void {
  view.start(Date.now(), isVisible(t));
  measureView(t, view);
}

/** `Page Exited`, once per page view (see PageVisit). */
function exitView(t: Tracker, view: PageVisit): void {
  if (!t.o.autocapture.exit) return;
  measureView(t, view);
  const seconds = view.exit(Date.now());
  if (seconds !== undefined) t.track('Page Exited', { time_on_page: seconds, scroll_depth: view.depth, path: t.w.location.pathname });
}

// ---- page views, also for single-page apps ----

function capturePageViews(t: Tracker, view: PageVisit): void {
  const w = t.w;
  const ac = t.o.autocapture;
  let current = pageKey(w.location);
  let url = w.location.href;
  if (ac.pageviews) t.page();
  const navigated = (): void => {
    const key = pageKey(w.location);
    if (key === current) return;
    exitView(t, view);
    t.referrer = url;
    current = key;
    url = w.location.href;
    startView(t, view);
    if (ac.pageviews) t.page();
  };
  if (!ac.spa) return;
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

function onClick(t: Tracker, e: EventLike): void {
  const el = isElement(e.target) ? e.target.closest(CLICKABLE) : null;
  if (!el || el.closest('[data-mosaic-ignore]')) return;
  const link = el.tagName === 'A' ? (el as AnchorElement) : undefined;
  const props: Props = {
    text: shortText(el.textContent) || shortText(el.getAttribute('value')) || shortText(el.getAttribute('aria-label')) || undefined,
    id: el.getAttribute('id') || undefined,
  };
  if (link && link.href) {
    props['href'] = link.href;
    props['outbound'] = !!link.hostname && link.hostname !== t.w.location.hostname;
  }
  const extra = dataProps(el.attributes);
  for (const k in extra) props[k] = extra[k];
  t.track(el.getAttribute('data-mosaic-event') || (link ? 'Link Clicked' : 'Button Clicked'), props);
  // The click may leave the page: send now (a keep-alive request outlives the page).
  void t.outbox.flush();
}

// ---- form submissions ----

function onSubmit(t: Tracker, e: EventLike): void {
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
  const props: Props = {
    form_id: form.getAttribute('id') || undefined,
    form_name: form.getAttribute('name') || undefined,
    action: form.getAttribute('action') || undefined,
  };
  const extra = dataProps(form.attributes);
  for (const k in extra) props[k] = extra[k];
  t.track(form.getAttribute('data-mosaic-event') || 'Form Submitted', props);
  void t.outbox.flush();
}

// ---- HTML5 video (media events do not bubble, but they are seen while capturing) ----

function captureVideo(t: Tracker): void {
  const d = t.w.document;
  const sessions: { el: VideoElement; s: VideoSession }[] = [];
  const onMedia = (e: EventLike): void => {
    const el = e.target as VideoElement;
    if (!isElement(el) || el.tagName !== 'VIDEO' || el.closest('[data-mosaic-ignore]')) return;
    let entry = sessions.filter((x) => x.el === el)[0];
    if (!entry) {
      entry = { el, s: new VideoSession(() => t.id(), t.o.videoHeartbeat * 1000, videoProps(el)) };
      sessions.push(entry);
    }
    const state = {
      position: el.currentTime,
      duration: el.duration,
      volume: el.volume,
      muted: el.muted,
      fullScreen: !!d.fullscreenElement,
      ended: el.ended,
      seeking: el.seeking,
    };
    for (const [name, props] of entry.s.handle(e.type, state, Date.now())) t.track(name, props);
  };
  for (const type of MEDIA_EVENTS) d.addEventListener(type, onMedia, true);
}

/** The properties of every event of a video: its id, title and `data-*` attributes. */
function videoProps(el: VideoElement): Props {
  const src = el.currentSrc || '';
  const base: Props = {
    content_asset_id: el.getAttribute('data-mosaic-video-id') || el.getAttribute('id') || src.split('?')[0]!.split('/').pop() || undefined,
    title: el.getAttribute('data-mosaic-title') || el.getAttribute('title') || el.getAttribute('aria-label') || undefined,
  };
  const extra = dataProps(el.attributes);
  for (const k in extra) base[k] = extra[k];
  return base;
}

// ---- leaving: exit event, then everything queued goes out with sendBeacon ----

function captureLeaving(t: Tracker, view: PageVisit): void {
  const w = t.w;
  const leave = (): void => {
    exitView(t, view);
    t.outbox.unload();
  };
  w.addEventListener('pagehide', leave);
  w.document.addEventListener('visibilitychange', () => {
    if (isVisible(t)) view.show(Date.now());
    else leave();
  });
  w.addEventListener('online', () => void t.outbox.flush());
}
