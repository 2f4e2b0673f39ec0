import { MAX_MESSAGE_BYTES, Outbox, backoff, batchSize, byteLength, mergeQueue, verdict, type OutboxDeps, type QueueItem } from './outbox';
import type { Message } from './types';

let seq = 0;
const msg = (extra: Partial<Message> = {}): Message => ({
  type: 'track',
  event: 'E',
  messageId: `m-${++seq}`,
  anonymousId: 'a',
  context: {},
  timestamp: '2026-01-01T00:00:00.000Z',
  ...extra,
});

/** An Outbox over fake time, transport and storage. */
function harness(opts: Partial<{ flushInterval: number; flushAt: number; maxQueue: number; retryBase: number; retryMax: number }> = {}) {
  let now = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const sent: { ids: string[]; body: { batch: Message[]; sentAt: string } }[] = [];
  const beacons: string[][] = [];
  const saved: QueueItem[][] = [];
  let answer: () => Promise<number> = () => Promise.resolve(200);
  let beaconOk = true;
  let online = true;
  const deps: OutboxDeps = {
    transport: {
      send: (body) => {
        const parsed = JSON.parse(body) as { batch: Message[]; sentAt: string };
        sent.push({ ids: parsed.batch.map((m) => m.messageId), body: parsed });
        return answer();
      },
      beacon: (body) => {
        beacons.push((JSON.parse(body) as { batch: Message[] }).batch.map((m) => m.messageId));
        return beaconOk;
      },
    },
    body: (batch) => JSON.stringify({ writeKey: 'k', sentAt: new Date(now).toISOString(), batch }),
    save: (items) => saved.push(items.map((i) => ({ ...i }))),
    online: () => online,
    now: () => now,
    random: () => 0.5,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn, id: nextId++ };
      timers.push(t);
      return t.id;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const box = new Outbox(deps, { flushInterval: 1000, flushAt: 20, maxQueue: 200, retryBase: 1000, retryMax: 60_000, ...opts });
  /** Advances fake time, firing due timers (and letting their sends settle). */
  const advance = async (ms: number): Promise<void> => {
    const until = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > until) break;
      timers.shift();
      now = t.at;
      t.fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    now = until;
  };
  return {
    box,
    sent,
    beacons,
    saved,
    advance,
    pendingTimers: () => timers.map((t) => t.at - now),
    setAnswer: (f: () => Promise<number>) => (answer = f),
    setBeacon: (ok: boolean) => (beaconOk = ok),
    setOnline: (v: boolean) => (online = v),
  };
}

describe('verdict', () => {
  it('delivers on 2xx, retries on network errors, 408, 429 and 5xx, drops other 4xx', () => {
    expect([200, 204].map(verdict)).toEqual(['ok', 'ok']);
    expect([0, 408, 429, 500, 503].map(verdict)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry']);
    expect([400, 401, 413].map(verdict)).toEqual(['drop', 'drop', 'drop']);
  });
});

describe('backoff', () => {
  it('doubles from the base up to the cap, with ±25 % jitter', () => {
    expect([1, 2, 3, 4].map((a) => backoff(a, 1000, 60_000, 0.5))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoff(20, 1000, 60_000, 0.5)).toBe(60_000);
    expect(backoff(1, 1000, 60_000, 0)).toBe(750);
    expect(backoff(1, 1000, 60_000, 0.999999)).toBe(1250);
    expect(backoff(1000, 1000, 60_000, 0.5)).toBe(60_000);
  });
});

describe('batch sizing and merging', () => {
  it('fits a request under the byte and count limits, at least one message', () => {
    const small = Array.from({ length: 150 }, () => ({ m: msg(), a: 0 }));
    expect(batchSize(small)).toBe(100);
    const big = Array.from({ length: 5 }, () => ({ m: msg({ properties: { blob: 'x'.repeat(25_000) } }), a: 0 }));
    expect(batchSize(big)).toBe(2);
    expect(batchSize(big, 1000)).toBe(1);
    expect(batchSize([])).toBe(0);
  });

  it('counts UTF-8 bytes, never fewer than there are', () => {
    expect(byteLength('abc')).toBe(3);
    expect(byteLength('é')).toBe(2);
    expect(byteLength('€')).toBe(3);
    expect(byteLength('😀')).toBeGreaterThanOrEqual(4);
  });

  it('merges without duplicates (by messageId) and keeps the newest when over the bound', () => {
    const a = { m: msg(), a: 1 };
    const b = { m: msg(), a: 0 };
    const c = { m: msg(), a: 0 };
    expect(mergeQueue([a, b], [{ m: { ...b.m }, a: 3 }, c], 10)).toEqual([a, b, c]);
    expect(mergeQueue([a, b], [c], 2)).toEqual([b, c]);
    expect(mergeQueue([], [null as unknown as QueueItem, { m: {} as Message, a: 0 }], 5)).toEqual([]);
  });
});

describe('Outbox', () => {
  it('sends a batch within flushInterval, or at once when flushAt messages wait', async () => {
    const h = harness({ flushAt: 3 });
    h.box.add(msg());
    h.box.add(msg());
    await h.advance(999);
    expect(h.sent).toHaveLength(0);
    await h.advance(1);
    expect(h.sent.map((s) => s.ids.length)).toEqual([2]);
    h.box.add(msg());
    h.box.add(msg());
    h.box.add(msg());
    await h.advance(0);
    expect(h.sent.map((s) => s.ids.length)).toEqual([2, 3]);
    expect(h.box.items).toEqual([]);
    expect(h.saved[h.saved.length - 1]).toEqual([]);
  });

  it('retries with exponential back-off, keeping each messageId, until it is delivered', async () => {
    const h = harness();
    let fail = 3;
    h.setAnswer(() => (fail-- > 0 ? Promise.resolve(503) : Promise.resolve(200)));
    const m = msg();
    h.box.add(m);
    await h.advance(1000); // first attempt
    expect(h.sent).toHaveLength(1);
    expect(h.pendingTimers()).toEqual([1000]);
    await h.advance(1000); // retry 1
    expect(h.pendingTimers()).toEqual([2000]);
    // New events during back-off do not make it retry sooner.
    h.box.add(msg());
    expect(h.pendingTimers()).toEqual([2000]);
    await h.advance(2000); // retry 2
    expect(h.pendingTimers()).toEqual([4000]);
    await h.advance(4000); // retry 3: delivered
    expect(h.sent).toHaveLength(4);
    for (const s of h.sent) expect(s.ids[0]).toBe(m.messageId);
    expect(h.box.items).toEqual([]);
    // Every attempt says when it was sent (the collector corrects clock skew with it).
    expect(h.sent.map((s) => Date.parse(s.body.sentAt))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('treats a network failure like a 5xx, and persists the attempts', async () => {
    const h = harness();
    h.setAnswer(() => Promise.reject(new Error('offline')));
    h.box.add(msg());
    await h.advance(1000);
    expect(h.box.items[0]!.a).toBe(1);
    expect(h.saved[h.saved.length - 1]![0]!.a).toBe(1);
  });

  it('drops a batch the collector refuses (4xx): retrying would not help', async () => {
    const h = harness();
    h.setAnswer(() => Promise.resolve(400));
    h.box.add(msg());
    await h.advance(1000);
    expect(h.box.items).toEqual([]);
    expect(h.pendingTimers()).toEqual([]);
  });

  it('is bounded: the oldest messages go first', () => {
    const h = harness({ maxQueue: 3 });
    const ms = [msg(), msg(), msg(), msg(), msg()];
    for (const m of ms) h.box.add(m);
    expect(h.box.items.map((i) => i.m.messageId)).toEqual(ms.slice(2).map((m) => m.messageId));
  });

  it('drops a message over 32 KB (the collector would refuse it)', () => {
    const h = harness();
    h.box.add(msg({ properties: { blob: 'x'.repeat(MAX_MESSAGE_BYTES) } }));
    expect(h.box.items).toEqual([]);
  });

  it('takes over the queue of earlier pages and sends it at once, without duplicates', async () => {
    const h = harness();
    const m1 = msg();
    const m2 = msg();
    h.box.add(m2);
    h.box.adopt([
      { m: m1, a: 2 },
      { m: { ...m2 }, a: 1 },
    ]);
    expect(h.box.items.map((i) => i.m.messageId)).toEqual([m1.messageId, m2.messageId]);
    await h.advance(0);
    expect(h.sent[0]!.ids).toEqual([m1.messageId, m2.messageId]);
  });

  describe('unload (page hidden or left)', () => {
    it('hands everything to sendBeacon and trusts it for messages that never failed', () => {
      const h = harness();
      const ms = [msg(), msg()];
      for (const m of ms) h.box.add(m);
      h.box.unload();
      expect(h.beacons).toEqual([ms.map((m) => m.messageId)]);
      expect(h.box.items).toEqual([]);
      expect(h.saved[h.saved.length - 1]).toEqual([]);
    });

    it('keeps messages in the persisted queue when the beacon is refused, or the browser is offline', () => {
      const h = harness();
      h.setBeacon(false);
      const m = msg();
      h.box.add(m);
      h.box.unload();
      expect(h.saved[h.saved.length - 1]!.map((i) => i.m.messageId)).toEqual([m.messageId]);
      const off = harness();
      off.setOnline(false);
      off.box.add(msg());
      off.box.unload();
      expect(off.beacons).toEqual([]);
      expect(off.saved[off.saved.length - 1]).toHaveLength(1);
    });

    it('keeps everything persisted while sends are failing (the beacon would likely fail too)', async () => {
      const h = harness();
      h.setAnswer(() => Promise.resolve(0));
      const failed = msg();
      h.box.add(failed);
      await h.advance(1000);
      const fresh = msg();
      h.box.add(fresh);
      h.box.unload();
      expect(h.beacons).toEqual([[failed.messageId, fresh.messageId]]);
      expect(h.saved[h.saved.length - 1]!.map((i) => i.m.messageId)).toEqual([failed.messageId, fresh.messageId]);
    });

    it('splits a large queue into beacon-sized requests', () => {
      const h = harness();
      for (let i = 0; i < 5; i++) h.box.add(msg({ properties: { blob: 'x'.repeat(25_000) } }));
      h.box.unload();
      expect(h.beacons.map((b) => b.length)).toEqual([2, 2, 1]);
    });
  });
});
