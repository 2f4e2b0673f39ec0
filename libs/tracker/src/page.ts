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
