// The activity digest: kinds, labels, identified flags, append/cap, merge, the stored text.
import {
  type ActivityEntry,
  activityEntryOf,
  activityFromText,
  activityKindOf,
  activityToText,
  appendActivity,
  buildActivity,
  identifiedSince,
  isAnonymousEntry,
  mergeActivity,
} from './activity';
import { NOW, at, ev, page, track } from './test-events';

const entry = (t: number, id: string, identified: 0 | 1 = 0): ActivityEntry => [t, 'other', id, identified, id];
const ids = (d: readonly ActivityEntry[]) => d.map((e) => e[4]);

describe('activity kinds and labels', () => {
  it.each([
    ['page', undefined, 'page'],
    ['screen', undefined, 'page'],
    ['track', 'Email Opened', 'email-open'],
    ['track', 'Email Link Clicked', 'email-click'],
    ['track', 'Video Playback Started', 'video'],
    ['track', 'Order Completed', 'order'],
    ['track', 'Checkout Started', 'order'],
    ['track', 'Form Submitted', 'form'],
    ['track', 'Button Clicked', 'click'],
    ['track', 'Product Viewed', 'other'],
    ['identify', undefined, 'other'],
  ])('%s %s is %s', (type, name, kind) => {
    expect(activityKindOf(type, name)).toBe(kind);
  });

  it('labels a track event by its name, a page by its name, path or url, others by their type', () => {
    expect(activityEntryOf(track('Order Completed', {}), 'm', NOW).slice(1, 3)).toEqual(['order', 'Order Completed']);
    expect(activityEntryOf(page({}, undefined, { name: 'Pricing' } as never), 'm', NOW)[2]).toBe('page: Pricing');
    expect(activityEntryOf(page({}, undefined, { properties: { path: '/pricing' } }), 'm', NOW)[2]).toBe('page: /pricing');
    expect(activityEntryOf(page({ page: { path: '/ctx' } }), 'm', NOW)[2]).toBe('page: /ctx');
    expect(activityEntryOf(page({}), 'm', NOW)[2]).toBe('page');
    expect(activityEntryOf(ev({ type: 'identify' }), 'm', NOW)[2]).toBe('identify');
    expect(activityEntryOf(track('x'.repeat(500), {}), 'm', NOW)[2]).toHaveLength(120);
  });

  it('takes the event time, the id given, and whether the event identified the visitor', () => {
    const anon = activityEntryOf(track('A', {}, at(5)), 'id-1', NOW);
    expect(anon).toEqual([Date.parse(at(5)), 'other', 'A', 0, 'id-1']);
    expect(activityEntryOf(ev({ type: 'identify', userId: 'u-1' }), 'id-2', NOW)[3]).toBe(1);
    expect(activityEntryOf(ev({ type: 'identify', userId: '  ' }), 'id-3', NOW)[3]).toBe(0);
    const withEmail = { ...track('A', {}), identifiers: [{ type: 'email', value: 'a@example.com' }] };
    expect(activityEntryOf(withEmail, 'id-4', NOW)[3]).toBe(1);
  });
});

describe('appendActivity', () => {
  it('appends newer entries in time order, ties by id', () => {
    const d = appendActivity([entry(1, 'a')], [entry(3, 'c'), entry(2, 'b2'), entry(2, 'b1')], 10);
    expect(ids(d)).toEqual(['a', 'b1', 'b2', 'c']);
  });

  it('places a late event where its time puts it', () => {
    const d = appendActivity([entry(1, 'a'), entry(5, 'e')], [entry(3, 'c')], 10);
    expect(ids(d)).toEqual(['a', 'c', 'e']);
  });

  it('keeps the newest max entries', () => {
    let d: ActivityEntry[] = [];
    for (let i = 0; i < 25; i += 1) d = appendActivity(d, [entry(i, `e${String(i).padStart(2, '0')}`)], 10);
    expect(d).toHaveLength(10);
    expect(ids(d)[0]).toBe('e15');
    expect(ids(d)[9]).toBe('e24');
    // a late event older than everything kept falls off at once
    expect(ids(appendActivity(d, [entry(0, 'late')], 10))).toEqual(ids(d));
  });

  it('does not change the digest it was given', () => {
    const d = [entry(1, 'a')];
    appendActivity(d, [entry(0, 'z')], 10);
    expect(ids(d)).toEqual(['a']);
  });
});

describe('mergeActivity', () => {
  const a = [entry(1, 'a1'), entry(4, 'a4'), entry(6, 'a6')];
  const b = [entry(2, 'b2'), entry(4, 'b4'), entry(9, 'b9')];

  it('interleaves both by time, the same whichever is the survivor', () => {
    expect(ids(mergeActivity(a, b, 100))).toEqual(['a1', 'b2', 'a4', 'b4', 'a6', 'b9']);
    expect(mergeActivity(b, a, 100)).toEqual(mergeActivity(a, b, 100));
  });

  it('keeps each event once and the newest max', () => {
    expect(ids(mergeActivity(a, [...b, entry(4, 'a4')], 100))).toEqual(['a1', 'b2', 'a4', 'b4', 'a6', 'b9']);
    expect(ids(mergeActivity(a, b, 4))).toEqual(['a4', 'b4', 'a6', 'b9']);
  });

  it('builds a digest from unordered entries', () => {
    expect(ids(buildActivity([entry(3, 'c'), entry(1, 'a'), entry(2, 'b')], 2))).toEqual(['b', 'c']);
  });
});

describe('anonymous entries and the stored text', () => {
  it('an entry is anonymous when it is not identified and before the first identified one', () => {
    const d = [entry(1, 'a'), entry(2, 'b', 1), entry(3, 'c')];
    const since = identifiedSince(d);
    expect(since).toBe(2);
    expect(d.map((e) => isAnonymousEntry(e, since))).toEqual([true, false, false]);
    expect(isAnonymousEntry(entry(5, 'x'), identifiedSince([entry(5, 'x')]))).toBe(true);
  });

  it('round-trips through text and refuses what is not a digest', () => {
    const d = [entry(1, 'a'), entry(2, 'b', 1)];
    expect(activityFromText(activityToText(d))).toEqual(d);
    expect(activityFromText(undefined)).toBeUndefined();
    expect(activityFromText('{')).toBeUndefined();
    expect(activityFromText('[[1,"nope","x",0,"id"]]')).toBeUndefined();
    expect(activityFromText('[]')).toEqual([]);
  });

  it('keeps the stored text under its bound by leaving out the oldest entries', () => {
    const d = [1, 2, 3, 4, 5].map((t) => entry(t, `e${t}`));
    const whole = activityToText(d);
    expect(activityToText(d, whole.length)).toBe(whole);
    const cut = activityToText(d, whole.length - 1);
    expect(activityFromText(cut)).toEqual(d.slice(1));
    const small = activityToText(d, 2 * JSON.stringify(d[0]).length + 3);
    expect(small.length).toBeLessThanOrEqual(2 * JSON.stringify(d[0]).length + 3);
    expect(activityFromText(small)).toEqual(d.slice(3));
  });
});
