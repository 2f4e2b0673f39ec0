import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import type { LiveMembership, LiveSnapshot } from '../../api/types';

/** How the page gets its numbers now. */
export type LiveMode = 'connecting' | 'streaming' | 'polling';

export interface LiveState {
  snapshot: LiveSnapshot | undefined;
  /** Newest first: the snapshot's list, with changes streamed since it prepended. */
  memberships: LiveMembership[];
  mode: LiveMode;
  error: unknown;
}

const MAX_MEMBERSHIPS = 50;
/** Stream errors in a row before polling takes over (EventSource retries by itself in between). */
const STREAM_FAILURES_BEFORE_POLLING = 3;
const POLL_INTERVAL_MS = 2_000;
/** While polling, how long until the stream is tried again. */
const STREAM_RETRY_MS = 30_000;

function parse<T>(event: Event): T | undefined {
  try {
    return JSON.parse((event as MessageEvent<string>).data) as T;
  } catch {
    return undefined;
  }
}

/**
 * The live view: `EventSource('/api/live/stream')` (same origin, so the session cookie goes
 * along), which reconnects by itself; when it keeps failing (or is refused), `GET /api/live`
 * every 2 s instead, and the stream is tried again every 30 s.
 */
export function useLiveFeed(): LiveState {
  const [state, setState] = useState<LiveState>({ snapshot: undefined, memberships: [], mode: 'connecting', error: undefined });

  useEffect(() => {
    let source: EventSource | undefined;
    let pollTimer: ReturnType<typeof setInterval> | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let disposed = false;

    const applySnapshot = (snapshot: LiveSnapshot, mode: LiveMode) => setState({ snapshot, memberships: snapshot.recentMemberships, mode, error: undefined });

    const poll = () => {
      api<LiveSnapshot>('/live').then(
        (s) => !disposed && applySnapshot(s, 'polling'),
        (error: unknown) => !disposed && setState((prev) => ({ ...prev, mode: 'polling', error })),
      );
    };

    const startPolling = () => {
      source?.close();
      source = undefined;
      if (pollTimer === undefined) {
        poll();
        pollTimer = setInterval(poll, POLL_INTERVAL_MS);
      }
      retryTimer = setTimeout(openStream, STREAM_RETRY_MS);
    };

    function openStream() {
      if (disposed) return;
      failures = 0;
      const es = new EventSource('/api/live/stream');
      source = es;
      es.onopen = () => {
        failures = 0;
        if (pollTimer !== undefined) clearInterval(pollTimer);
        pollTimer = undefined;
      };
      es.addEventListener('snapshot', (e) => {
        const s = parse<LiveSnapshot>(e);
        if (s) applySnapshot(s, 'streaming');
      });
      es.addEventListener('membership', (e) => {
        const m = parse<LiveMembership>(e);
        if (m) setState((prev) => ({ ...prev, memberships: [m, ...prev.memberships].slice(0, MAX_MEMBERSHIPS) }));
      });
      es.onerror = () => {
        failures++;
        // CLOSED: refused (401, not an event stream); EventSource will not retry by itself.
        if (es.readyState === EventSource.CLOSED || failures >= STREAM_FAILURES_BEFORE_POLLING) startPolling();
      };
    }

    openStream();
    return () => {
      disposed = true;
      source?.close();
      if (pollTimer !== undefined) clearInterval(pollTimer);
      if (retryTimer !== undefined) clearTimeout(retryTimer);
    };
  }, []);

  return state;
}
