/** Types shared by the tracker's modules (no runtime code). */

/** A JSON value; `undefined` (an absent value) is dropped by JSON.stringify. */
export type Json = string | number | boolean | null | undefined | Json[] | Props;
/** Properties, traits and context. */
export interface Props {
  [key: string]: Json;
}

export type MessageType = 'page' | 'track' | 'identify' | 'alias';

/** One Segment message as the tracker sends it to `/v1/batch`. */
export interface Message {
  type: MessageType;
  /** Made once when the event is created and kept across retries: the collector de-duplicates by it. */
  messageId: string;
  anonymousId: string;
  userId?: string;
  event?: string;
  name?: string;
  category?: string;
  previousId?: string;
  properties?: Props;
  traits?: Props;
  context: Props;
  timestamp: string;
}

export interface AutocaptureOptions {
  /** A `page` on load (default true). */
  pageviews?: boolean;
  /** A `page` on History API navigation: pushState, replaceState, popstate (default true). */
  spa?: boolean;
  /** `Link Clicked` / `Button Clicked` or the `data-mosaic-event` name (default true). */
  clicks?: boolean;
  /** `Form Submitted` or the form's `data-mosaic-event` name, and `identify` from marked fields (default true). */
  forms?: boolean;
  /** `Page Exited` with time on page and scroll depth, once per page view (default true). */
  exit?: boolean;
  /** Segment Video spec events for every HTML5 `<video>` (default true). */
  video?: boolean;
}

export interface TrackerOptions {
  /** Collector base URL, e.g. `https://collect.example.com` (default: where mosaic.js was loaded from). */
  apiHost?: string;
  /** Where `decide` asks for personalised content (default: apiHost). */
  activationHost?: string;
  /** '' (default): the cookie belongs to this host only; `auto`: the widest domain that accepts it; or a domain such as `example.com`. */
  cookieDomain?: string;
  /** Days the anonymous id cookie lives after the last visit (default 365). */
  cookieDays?: number;
  /** Nothing is sent or stored until `consent({analytics: true})` (default false). */
  requireConsent?: boolean;
  /** `false` switches all automatic collection off; an object switches each kind. */
  autocapture?: boolean | AutocaptureOptions;
  /** Longest wait before queued events are sent, ms (default 1000). */
  flushInterval?: number;
  /** Send as soon as this many events are queued (default 20). */
  flushAt?: number;
  /** Most events kept in the offline queue; the oldest go first (default 200). */
  maxQueue?: number;
  /** First retry delay after a failed send, ms; doubles each attempt (default 1000). */
  retryBase?: number;
  /** Longest retry delay, ms (default 60000). */
  retryMax?: number;
  /** Seconds between `Video Content Playing` heartbeats (default 10). */
  videoHeartbeat?: number;
  /** `decide` gives up after this many ms (default 2000). */
  decideTimeout?: number;
  /** `decide` records an `Experience Viewed` event per slot it rendered (default true). */
  trackExposures?: boolean;
}

/** What `consent()` takes: `analytics` governs tracking; other categories are recorded. */
export interface ConsentPreferences {
  analytics: boolean;
  [category: string]: boolean;
}
