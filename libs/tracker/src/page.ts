/** Page facts: Segment's page properties and scroll depth. Pure. */
import type { Props } from './types';

export interface LocationLike {
  href: string;
  pathname: string;
  search: string;
}

/** Segment's page fields (`properties` of a page call and `context.page` of every event). */
export function pageFields(loc: LocationLike, referrer: string, title: string): Props {
  const hash = loc.href.indexOf('#');
  return { path: loc.pathname, referrer, search: loc.search, title, url: hash < 0 ? loc.href : loc.href.slice(0, hash) };
}

/**
 * How far down the page the bottom of the viewport has reached, in percent (0-100). A page no
 * taller than the viewport is seen whole: 100.
 */
export function scrollDepth(scrollTop: number, viewportHeight: number, documentHeight: number): number {
  if (documentHeight <= viewportHeight || documentHeight <= 0) return 100;
  const seen = (Math.max(0, scrollTop) + viewportHeight) / documentHeight;
  return Math.max(0, Math.min(100, Math.round(seen * 100)));
}

/** The part of a URL that decides whether a navigation is a new page view (hash changes are not). */
export function pageKey(loc: LocationLike): string {
  return loc.pathname + loc.search;
}

/**
 * One page view's `Page Exited` facts: visible time, deepest scroll, and whether the exit was
 * already reported. The exit is due once per page view, the first time the view ends or is
 * hidden (SPA navigation, pagehide, another tab or app in front): hidden is the last moment a
 * mobile browser reliably lets a page send (it may discard a hidden page without a pagehide),
 * and a second exit for the same view would count it twice and add its time twice. Time spent
 * after coming back to a view already exited is therefore not reported. Pure: the clock is
 * passed in.
 */
export class PageVisit {
  /** Deepest scroll so far, percent. */
  depth = 0;
  /** Start of the visible time; undefined while the view has not been visible. */
  private since: number | undefined;
  private exited = false;

  /** A page view begins (load or SPA navigation): its exit is due again. */
  start(now: number, visible: boolean): void {
    this.depth = 0;
    this.since = visible ? now : undefined;
    this.exited = false;
  }

  /** The page became visible: a view opened in a background tab counts from now. */
  show(now: number): void {
    if (this.since === undefined) this.since = now;
  }

  scrolled(depth: number): void {
    this.depth = Math.max(this.depth, depth);
  }

  /** Visible seconds (one decimal) the first time the view is left or hidden; undefined after that. */
  exit(now: number): number | undefined {
    if (this.exited) return undefined;
    this.exited = true;
    return this.since === undefined ? 0 : Math.round((now - this.since) / 100) / 10;
  }
}
