/** The decision API call of `mosaic.decide`: the request to `/v1/decide` and rendering its answer into the page's slots. */
import type { ElementLike, WindowLike } from './dom';
import type { Props } from './types';
import { isObject } from './util';

/** What `decide` resolves with. */
export interface Decision {
  segments: string[];
  /** Per slot: `{html}` or `{text}` to show (already rendered into the page), plus whatever the server adds. */
  slots: Record<string, Props>;
  /** true when no decision service answered (404) or consent is missing: the page keeps its default content. */
  fallback?: boolean;
}

export interface DecideRequest {
  slots?: string[];
  render?: boolean;
  userHash?: string;
}

/** The page keeps its default content. */
export function noDecision(): Decision {
  return { segments: [], slots: {}, fallback: true };
}

/** The slots asked for: the request's, or those of every `data-mosaic-slot` element of the page. */
export function slotNames(r: DecideRequest, elements: ArrayLike<ElementLike>): string[] {
  const slots: string[] = Array.isArray(r.slots) ? r.slots.map(String) : [];
  if (!Array.isArray(r.slots)) for (let i = 0; i < elements.length; i++) slots.push((elements[i] as ElementLike).getAttribute('data-mosaic-slot') || '');
  return slots;
}

function decisionOf(j: unknown): Decision {
  return {
    segments: isObject(j) && Array.isArray(j['segments']) ? (j['segments'] as unknown as string[]) : [],
    slots: isObject(j) && isObject(j['slots']) ? (j['slots'] as unknown as Record<string, Props>) : {},
  };
}

/** Renders `{html}` or `{text}` into the page's slot elements; answers the names of the slots it filled. */
export function renderSlots(elements: ArrayLike<ElementLike>, d: Decision): string[] {
  const rendered: string[] = [];
  for (let i = 0; i < elements.length; i++) {
    const el = elements[i] as ElementLike;
    const name = el.getAttribute('data-mosaic-slot') || '';
    const c = d.slots[name];
    if (!isObject(c)) continue;
    if (typeof c['html'] === 'string') el.innerHTML = c['html'];
    else if (typeof c['text'] === 'string') el.textContent = c['text'];
    else continue;
    if (rendered.indexOf(name) < 0) rendered.push(name);
  }
  return rendered;
}

/** The event recorded once per slot the visitor was shown (Segment's "Experiment Viewed" pattern). */
export const EXPOSURE_EVENT = 'Experience Viewed';

/**
 * The properties of one `Experience Viewed` per rendered slot whose answer names its experience:
 * `rule_id` null when the experience's default was shown, `holdout` true when the visitor is in
 * its control group (and got the default because of it). Snake case, as the tracker's other
 * semantic events (Segment's specs); the values are the decision API's `experienceId` and `ruleId`.
 */
export function exposures(d: Decision, rendered: string[]): Props[] {
  const out: Props[] = [];
  for (const slot of rendered) {
    const c = d.slots[slot];
    if (!isObject(c) || typeof c['experienceId'] !== 'string') continue;
    out.push({ slot, experience_id: c['experienceId'], rule_id: typeof c['ruleId'] === 'string' ? c['ruleId'] : null, holdout: c['holdout'] === true });
  }
  return out;
}

/**
 * POSTs `body` to the decision API. A 404 resolves with {@link noDecision}; other failures, and no
 * answer within `timeoutMs` (the request is aborted), reject.
 */
export function fetchDecision(w: WindowLike, url: string, body: string, timeoutMs: number): Promise<Decision> {
  const Abort = w.AbortController;
  const ctl = Abort ? new Abort() : undefined;
  let timer = 0;
  const timeout = new Promise<never>((_, reject) => {
    timer = w.setTimeout(() => {
      if (ctl) ctl.abort();
      reject(new Error(`mosaic.decide: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const asked = w.fetch(url, { method: 'POST', body, credentials: 'omit', signal: ctl && ctl.signal }).then((res): Promise<Decision> | Decision => {
    if (res.status === 404) return noDecision();
    if (res.status < 200 || res.status >= 300) throw new Error(`mosaic.decide: HTTP ${res.status}`);
    return res.json().then(decisionOf);
  });
  return Promise.race([asked, timeout]).then(
    (d) => {
      w.clearTimeout(timer);
      return d;
    },
    (err: unknown) => {
      w.clearTimeout(timer);
      throw err instanceof Error ? err : new Error('mosaic.decide: request failed');
    },
  );
}
