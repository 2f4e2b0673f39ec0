import { useEffect, useRef, type MouseEvent } from 'react';

export const MAIN_ID = 'main-content';
/** How long a page may take to render its heading (it may show a loading line first) before the main area takes the focus meanwhile. */
const HEADING_WAIT_MS = 3_000;

function focusElement(el: HTMLElement): void {
  // Headings are not focusable by default; -1 makes them focusable by script only (not a tab stop).
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus();
}

/**
 * Moves focus to the main area's `<h1>` after navigating to another page (not on the first render,
 * where the skip link should be the first stop), as a page load would: a keyboard or screen-reader
 * user starts on the new page instead of on the link they left. A page whose heading is not there
 * yet (still loading) gets it when it appears, unless the user moved the focus meanwhile; after
 * `HEADING_WAIT_MS` without one the main area holds it until then.
 */
export function useFocusHeadingOnNavigation(pathname: string): void {
  const shown = useRef(pathname);
  useEffect(() => {
    if (shown.current === pathname) return;
    shown.current = pathname;
    const main = document.getElementById(MAIN_ID);
    if (!main) return;
    const heading = (): HTMLElement | null => main.querySelector('h1');
    const found = heading();
    if (found) {
      focusElement(found);
      return;
    }
    // Where the navigation left the focus: the heading takes it only while nobody moved it since.
    const left = document.activeElement;
    const unmoved = (): boolean => document.activeElement === left || document.activeElement === main || document.activeElement === document.body;
    const observer = new MutationObserver(() => {
      const h = heading();
      if (!h) return;
      observer.disconnect();
      if (unmoved()) focusElement(h);
    });
    observer.observe(main, { childList: true, subtree: true });
    // A slow page: the main area meanwhile, and its heading still once it appears.
    const timer = window.setTimeout(() => {
      if (unmoved()) focusElement(main);
    }, HEADING_WAIT_MS);
    return () => {
      observer.disconnect();
      window.clearTimeout(timer);
    };
  }, [pathname]);
}

/** The skip link's action: focus the main area's heading (the URL keeps no `#fragment`). */
export function skipToMain(e: MouseEvent<HTMLAnchorElement>): void {
  e.preventDefault();
  const main = document.getElementById(MAIN_ID);
  if (main) focusElement(main.querySelector('h1') ?? main);
}
