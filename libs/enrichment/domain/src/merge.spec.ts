import fc from 'fast-check';
import type { MergeNotice, ResolvedEvent } from '@mosaic/contracts';
import { applyEvent, recomputeFromEvents } from './apply';
import { foldMerge } from './merge';
import type { ProfileState } from './state';
import { CTX, applyAll, ev, page, track } from './test-events';

const notice = (survivorId: string, loserId: string): MergeNotice => ({
  kind: 'merge',
  survivorId,
  loserId,
  reason: 'identify',
  triggeringMessageId: `t-${loserId}`,
  movedIdentifiers: [{ type: 'anonymousId', value: `anon-${loserId}` }],
  at: '2026-02-01T00:00:00.000Z',
});

const BASE = Date.parse('2026-01-01T00:00:00.000Z');
let seq = 0;
/** Event kinds, each with a time (minute offset); a unique ms suffix keeps every time distinct. */
const eventArb = fc.record({ kind: fc.integer({ min: 0, max: 8 }), minute: fc.integer({ min: 0, max: 60 * 24 * 5 }), v: fc.integer({ min: 0, max: 3 }) });
type Spec = { kind: number; minute: number; v: number };

function toEvent(s: Spec, pid: string): ResolvedEvent {
  const at = new Date(BASE + s.minute * 60_000 + (++seq % 60_000)).toISOString();
  const cats = ['Coffee', 'Tea', 'Mugs', 'Toys'];
  const refs = [undefined, 'https://www.google.com/search?q=beans', 'https://t.co/x', 'https://blog.example.org/'];
  const uas = ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'Googlebot/2.1', 'curl/8', ''];
  const e = (() => {
    switch (s.kind) {
      case 0:
        return page(
          { page: { url: 'https://shop.example/', referrer: refs[s.v] }, userAgent: uas[s.v], ip: ['8.8.8.8', '81.2.69.160', '10.0.0.1', 'x'][s.v] },
          at,
        );
      case 1:
        return track('Product Viewed', { product_id: `p${s.v}`, category: cats[s.v], price: 10 * (s.v + 1) }, at, { page: { url: 'https://shop.example/p' } });
      case 2:
        return track('Order Completed', { order_id: `${pid}-o${seq}`, total: 5 * (s.v + 1) }, at);
      case 3:
        return track('Email Opened', { machine: s.v === 0 }, at);
      case 4:
        return ev({ type: 'identify', userId: 'u', traits: { $set_once: { origin: `${pid}-${s.v}` } }, at });
      case 5:
        return track(
          s.v % 2 ? 'Video Playback Started' : 'Video Content Playing',
          { session_id: `${pid}-v${s.v}`, content_asset_id: `a${s.v % 2}`, position: s.minute % 4, total_length: 3 },
          at,
        );
      case 6:
        return track('Product Added', { product_id: `c${s.v}`, price: s.v + 1, category: cats[s.v] }, at, { userAgent: uas[0] });
      case 7:
        return track('Page Exited', { path: `/x${s.v}` }, at);
      default:
        return track('Email Link Clicked', {}, at);
    }
  })();
  return { ...e, profileId: pid, identifiers: [{ type: 'anonymousId', value: `anon-${pid}` }] };
}

function build(pid: string, specs: Spec[]): ProfileState {
  return applyAll(
    specs.map((s) => toEvent(s, pid)),
    CTX,
    recomputeFromEvents(pid, [], CTX),
  );
}

const r6 = (n: number) => Math.round(n * 1e6) / 1e6;
/** The parts that must not depend on fold order. */
function orderFree(s: ProfileState) {
  const c = s.computed;
  return {
    identifiers: s.identifiers.map((i) => `${i.type}:${i.value}`).sort(),
    onceTraits: Object.fromEntries(Object.entries(s.traitMeta).map(([k, m]) => [k, [m.o, m.ov]])),
    firstSeen: c.firstSeen,
    lastSeen: c.lastSeen,
    sessionCount: c.sessionCount,
    sessions: s.internal.sessions,
    pageViews: c.pageViews,
    productViews: c.productViews,
    productsViewed: c.productsViewed,
    categoriesVisited: c.categoriesVisited,
    firstTouch: c.firstTouch,
    lastTouch: c.lastTouch,
    bot: c.bot,
    device: c.device,
    geo: c.geo,
    affinity: c.categoryAffinity.map((a) => [a.category, r6(a.score)]),
    orders: c.orders,
    email: c.email,
    video: c.video,
    lastExitPage: c.lastExitPage,
    daily: c.daily,
    cartClearedAt: c.cart.clearedAt,
  };
}

const profiles = fc.tuple(fc.array(eventArb, { maxLength: 12 }), fc.array(eventArb, { maxLength: 12 }), fc.array(eventArb, { maxLength: 12 }));

describe('foldMerge', () => {
  it('is idempotent: folding the same loser twice changes nothing', () => {
    fc.assert(
      fc.property(profiles, ([a, b]) => {
        const A = build('A', a);
        const B = build('B', b);
        const once = foldMerge(A, B, notice('A', 'B'));
        expect(foldMerge(once, B, notice('A', 'B'))).toBe(once);
        expect(once.mergedFrom).toEqual(['B']);
      }),
      { numRuns: 100 },
    );
  });

  it('folding B then C equals C then B for the order-independent parts, and counters are sums', () => {
    fc.assert(
      fc.property(profiles, ([a, b, c]) => {
        const A = build('A', a);
        const B = build('B', b);
        const C = build('C', c);
        const bc = foldMerge(foldMerge(A, B, notice('A', 'B')), C, notice('A', 'C'));
        const cb = foldMerge(foldMerge(A, C, notice('A', 'C')), B, notice('A', 'B'));
        expect(orderFree(bc)).toEqual(orderFree(cb));
        // associativity: (C into B) into A
        const nested = foldMerge(A, foldMerge(B, C, notice('B', 'C')), notice('A', 'B'));
        expect(orderFree(nested)).toEqual(orderFree(bc));
        // nested folds are transitive for idempotence
        expect(foldMerge(nested, C, notice('A', 'C'))).toBe(nested);
        for (const k of ['pageViews', 'productViews'] as const) expect(bc.computed[k]).toBe(A.computed[k] + B.computed[k] + C.computed[k]);
        expect(bc.computed.orders.count).toBe(A.computed.orders.count + B.computed.orders.count + C.computed.orders.count);
        expect(bc.computed.email.opened).toBe(A.computed.email.opened + B.computed.email.opened + C.computed.email.opened);
      }),
      { numRuns: 150 },
    );
  });

  it('equals one profile built from all the events, for the order-independent parts', () => {
    fc.assert(
      fc.property(profiles, ([a, b]) => {
        const evA = a.map((s) => toEvent(s, 'A'));
        const evB = b.map((s) => ({ ...toEvent(s, 'B'), profileId: 'A' }));
        const folded = foldMerge(
          applyAll(evA, CTX, recomputeFromEvents('A', [], CTX)),
          applyAll(evB, CTX, recomputeFromEvents('B', [], CTX)),
          notice('A', 'B'),
        );
        const together = recomputeFromEvents('A', [...evA, ...evB], CTX);
        const { identifiers: _i, ...x } = orderFree(folded);
        const { identifiers: _j, ...y } = orderFree(together);
        expect(x).toEqual(y);
      }),
      { numRuns: 100 },
    );
  });

  it('survivor wins $set conflicts, loser fills gaps, $set_once keeps the earliest', () => {
    const idf = (traits: Record<string, unknown>, at: string) => ev({ type: 'identify', userId: 'u', traits, at });
    const A = applyAll([idf({ plan: 'a', $set_once: { src: 'late' } }, '2026-01-05T00:00:00Z')]);
    const B = applyAll([
      idf({ plan: 'b', city: 'Oslo', $set_once: { src: 'early' } }, '2026-01-09T00:00:00Z'),
      idf({ $set_once: { src: 'earliest' } }, '2026-01-01T00:00:00Z'),
    ]);
    const m = foldMerge(A, { ...B, profileId: 'B' }, notice('p1', 'B'));
    expect(m.traits).toEqual({ plan: 'a', city: 'Oslo', src: 'earliest' });
  });

  it('cart from the most recently active profile, minus items added before the latest order; redelivered loser events are duplicates', () => {
    const add = (id: string, at: string) => track('Product Added', { product_id: id, price: 1 }, at);
    const A = applyAll([add('old', '2026-01-01T00:00:00Z'), track('Order Completed', { total: 1 }, '2026-01-03T00:00:00Z')]);
    const bEvents = [add('b1', '2026-01-02T00:00:00Z'), add('b2', '2026-01-04T00:00:00Z')];
    const B = { ...applyAll(bEvents), profileId: 'B' };
    const m = foldMerge(A, B, notice('p1', 'B'));
    expect(m.computed.cart.items.map((i) => i.productId)).toEqual(['b2']);
    expect(applyEvent(m, bEvents[0] as ResolvedEvent, CTX).duplicate).toBe(true);
  });
});

describe('applyEvent idempotence (property)', () => {
  it('redelivering any events at any later point (at-least-once delivery) leaves the same profile as applying each once', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 20 }), (specs, redeliveries) => {
        const events = specs.map((s) => toEvent(s, 'R'));
        const once = applyAll(events, CTX, recomputeFromEvents('R', [], CTX));
        // The stream with copies of earlier events re-inserted after their original position.
        const stream = [...events];
        for (const r of redeliveries) {
          const original = events[r % events.length] as ResolvedEvent;
          const pos = stream.indexOf(original);
          stream.splice(pos + 1 + (Math.floor(r / events.length) % (stream.length - pos)), 0, original);
        }
        const twice = applyAll(stream, CTX, recomputeFromEvents('R', [], CTX));
        expect(twice).toEqual(once);
      }),
      { numRuns: 200 },
    );
  });
});

describe('computed.sources (the decision API scopes profiles by it)', () => {
  const from = (sourceId: string, messageId: string): ResolvedEvent => ev({ sourceId, messageId });

  it('lists the sources a profile has events from, in order of their first event, bounded', () => {
    const s = applyAll([from('src_a', 'm1'), from('src_b', 'm2'), from('src_a', 'm3')]);
    expect(s.computed.sources).toEqual(['src_a', 'src_b']);
    const many = applyAll(Array.from({ length: 30 }, (_, i) => from(`src_${i}`, `n${i}`)));
    expect(many.computed.sources).toHaveLength(20);
    expect(many.computed.sources?.[0]).toBe('src_0');
  });

  it('keeps both profiles’ sources on a merge', () => {
    const a = applyAll([from('src_a', 'm1')]);
    const b = applyAll([from('src_b', 'm2'), from('src_a', 'm3')], CTX, undefined);
    const merged = foldMerge({ ...a, profileId: 'A' }, { ...b, profileId: 'B' }, notice('A', 'B'));
    expect(merged.computed.sources).toEqual(['src_a', 'src_b']);
  });

  it('starts the list on the next event of a profile stored before it existed', () => {
    const old = applyAll([from('src_a', 'm1')]);
    delete old.computed.sources;
    expect(applyEvent(old, from('src_b', 'm2'), CTX).state.computed.sources).toEqual(['src_b']);
  });
});
