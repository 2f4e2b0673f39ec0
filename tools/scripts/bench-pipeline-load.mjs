// The load of the pipeline benchmark (bench-pipeline.mjs): the mix of events people send and
// the sender that posts it to the collector.
import { eventSource } from './bench-event-mix.mjs';
import { prng, sleep } from './bench-util.mjs';

const log = (m) => console.error(`[bench pipeline] ${m}`);

/**
 * The load: events as a site's tracker sends them, for `persons` people picked at random (so
 * visitors interleave). 30 % of the people first log in on another device (a known profile with
 * their user id); their later login on this device merges the anonymous profile into it. 5 % of
 * the events are email link clicks. The rest is enrichment's bench mix (eventSource).
 */
export function loadMix(runId, persons, seed) {
  const ids = Array.from({ length: persons }, (_, i) => `${runId}-${i}`);
  const source = eventSource(runId, ids, seed);
  const rnd = prng(seed + 1);
  const started = new Uint8Array(persons);
  const otherDevice = new Uint8Array(persons);
  const order = []; // people in the order of their first event (the latency phase pings them)
  const counts = { events: 0, people: 0, otherDeviceLogins: 0, merges: 0, emailClicks: 0, pings: 0 };
  let seq = 0;
  const now = () => new Date().toISOString();
  const withUser = (s, e) => (s.userId ? { ...e, userId: s.userId } : e);
  function first(i, s) {
    started[i] = 1;
    order.push(i);
    counts.people += 1;
    if (rnd() >= 0.3) return undefined;
    otherDevice[i] = 1;
    counts.otherDeviceLogins += 1;
    return {
      type: 'identify',
      messageId: `d-${runId}-${(seq += 1)}`,
      anonymousId: `dev-${s.profileId}`,
      userId: `u-${s.profileId}`,
      traits: { email: `visitor${i}@example.com`, firstName: 'Visitor' },
      context: { userAgent: s.ua },
      timestamp: now(),
    };
  }
  /** Person i's next event (their first, on first call: a login on another device first for 30 %). */
  function eventOf(i) {
    counts.events += 1;
    const s = source.state[i];
    if (!started[i]) {
      const login = first(i, s);
      if (login) return login;
    }
    if (rnd() < 0.05) {
      counts.emailClicks += 1;
      return withUser(s, {
        type: 'track',
        event: 'Email Link Clicked',
        messageId: `ec-${runId}-${(seq += 1)}`,
        anonymousId: s.anonymousId,
        properties: {
          campaign: 'nov-newsletter',
          email_id: `em-${i}`,
          url: 'https://shop.example.com/coffee-beans?utm_campaign=nov',
          machine: false,
          machine_reason: 'none',
        },
        context: { userAgent: s.ua },
        timestamp: now(),
      });
    }
    const hadUser = s.userId !== undefined;
    const { receivedAt, sourceId, ...event } = source.mixed(s).event;
    if (event.type === 'identify' && !hadUser && otherDevice[i]) counts.merges += 1;
    return event;
  }
  /** The next event of a person picked at random. */
  const next = () => eventOf(Math.floor(rnd() * persons));
  /**
   * Every person's arrival, in order: their first event (after a login on another device, for
   * the 30 % who have one), so the profiles exist before a measured phase of returning visitors.
   */
  function arrivals() {
    const out = [];
    for (let i = 0; i < persons; i += 1) {
      if (started[i]) continue;
      const login = first(i, source.state[i]);
      if (login) {
        counts.events += 1;
        out.push(login);
      }
      out.push(eventOf(i));
    }
    return out;
  }
  let pinged = 0;
  /** A ping of a person who has sent events and not been pinged (a new visitor once all were). */
  function ping(n) {
    counts.events += 1;
    counts.pings += 1;
    const i = pinged < order.length ? order[pinged] : undefined;
    pinged += 1;
    const s = i === undefined ? { anonymousId: `ping-visitor-${runId}-${n}` } : source.state[i];
    return withUser(s, {
      type: 'track',
      event: 'Bench Ping',
      messageId: `ping-${runId}-${n}`,
      anonymousId: s.anonymousId,
      properties: { ping: n },
      timestamp: now(),
    });
  }
  return { next, arrivals, ping, counts };
}

/** Sends batches built by `build(size)` on `connections` keep-alive connections, paced at `rate`/s (0: as fast as acked). */
export async function sendLoad(http, { url, authorization, build, batch, connections, rate, events, seconds, until, onSent }) {
  const stats = { offered: 0, acked: 0, duplicates: 0, rejected: 0, failedRequests: 0, requests: 0 };
  const t0 = Date.now();
  let k = 0;
  const more = () => (events > 0 ? stats.offered < events : Date.now() - t0 < seconds * 1000) && Date.now() < until;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (more()) {
        const size = events > 0 ? Math.min(batch, events - stats.offered) : batch;
        const due = rate > 0 ? t0 + ((k * batch) / rate) * 1000 : 0;
        k += 1;
        const items = build(size);
        stats.offered += items.length;
        if (due > Date.now()) await sleep(due - Date.now());
        const sentAt = Date.now();
        onSent?.(items, sentAt);
        stats.requests += 1;
        const r = await http.post(`${url}/v1/batch`, JSON.stringify({ batch: items }), { authorization }).catch((err) => ({ status: 0, body: err.message }));
        if (r.status !== 200) {
          stats.failedRequests += 1;
          if (stats.failedRequests <= 3) log(`batch answered ${r.status}: ${r.body.slice(0, 300)}`);
          continue;
        }
        const body = JSON.parse(r.body);
        stats.acked += body.accepted ?? 0;
        stats.duplicates += body.duplicates ?? 0;
        stats.rejected += body.rejected?.length ?? 0;
        if (body.rejected?.length && stats.rejected <= body.rejected.length) log(`rejected: ${JSON.stringify(body.rejected.slice(0, 2))}`);
      }
    }),
  );
  return { ...stats, seconds: (Date.now() - t0) / 1000, startedAt: t0, endedAt: Date.now() };
}
