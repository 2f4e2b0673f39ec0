// mosaic.decide(): rendering the decision API's answer into the page's slots and recording what was
// shown (`Experience Viewed`), over a small fake page and a decision API answering from memory.
import type { ElementLike, FetchInit, WindowLike } from './dom';
import { exposures, renderSlots, type Decision } from './decide';
import { Tracker } from './tracker';
import type { Message, TrackerOptions } from './types';

function slotElement(name: string, content: string): ElementLike {
  const attrs: Record<string, string> = { 'data-mosaic-slot': name };
  return {
    tagName: 'SECTION',
    attributes: [],
    textContent: content,
    innerHTML: content,
    getAttribute: (n) => attrs[n] ?? null,
    closest: () => null,
    querySelectorAll: () => [],
  };
}

/** The decision API's answer for two slots: a rule's content and an experience's default (holdout). */
const ANSWER = {
  profileId: 'p-1',
  segments: ['high-ltv'],
  slots: {
    'home-banner': { html: '<b>VIP15</b>', experienceId: 'demo-home-banner', ruleId: 'vip-discount', holdout: false },
    sidebar: { text: 'Welcome', experienceId: 'side', ruleId: null, holdout: true },
    feed: { json: { items: [] }, experienceId: 'feed-exp', ruleId: 'r', holdout: false },
  },
};

function page(answer: unknown = ANSWER) {
  const elements = [slotElement('home-banner', 'Free delivery'), slotElement('sidebar', 'Default'), slotElement('feed', '')];
  const requests: { url: string; init: FetchInit }[] = [];
  const w: WindowLike = {
    document: {
      cookie: '',
      referrer: '',
      title: 'Home',
      visibilityState: 'visible',
      documentElement: { scrollHeight: 1000, clientHeight: 800 },
      body: null,
      currentScript: null,
      querySelectorAll: () => elements,
      addEventListener: () => undefined,
    },
    location: { href: 'https://shop.example.com/', pathname: '/', search: '', hostname: 'shop.example.com', protocol: 'https:' },
    history: { pushState: () => undefined, replaceState: () => undefined },
    navigator: { language: 'en' },
    innerHeight: 800,
    pageYOffset: 0,
    fetch: (url, init) => {
      requests.push({ url, init });
      return Promise.resolve({ status: 200, json: () => Promise.resolve(answer) });
    },
    // Timers never fire: the test reads the outbox's queue instead of waiting for a send.
    setTimeout: () => 1,
    clearTimeout: () => undefined,
    addEventListener: () => undefined,
  };
  return { w, elements, requests };
}

function tracker(w: WindowLike, options: TrackerOptions = {}): Tracker {
  return new Tracker(w, 'wk-1', { apiHost: 'https://collect.example.com', flushAt: 100, ...options }, '');
}

const queued = (t: Tracker): Message[] => t.outbox.items.map((i) => i.m);

describe('renderSlots and exposures', () => {
  it('renders html and text answers, and names only the slots it filled', () => {
    const { elements } = page();
    const d: Decision = { segments: [], slots: ANSWER.slots as unknown as Decision['slots'] };
    expect(renderSlots(elements, d)).toEqual(['home-banner', 'sidebar']);
    expect(elements[0]?.innerHTML).toBe('<b>VIP15</b>');
    expect(elements[1]?.textContent).toBe('Welcome');
    expect(elements[2]?.innerHTML).toBe(''); // json content is the page's to show
  });

  it('describes each rendered slot that names its experience: rule or default (null), holdout', () => {
    const d: Decision = { segments: [], slots: { ...(ANSWER.slots as unknown as Decision['slots']), bare: { html: 'x' } } };
    expect(exposures(d, ['home-banner', 'sidebar', 'bare', 'missing'])).toEqual([
      { slot: 'home-banner', experience_id: 'demo-home-banner', rule_id: 'vip-discount', holdout: false },
      { slot: 'sidebar', experience_id: 'side', rule_id: null, holdout: true },
    ]);
  });
});

describe('Tracker.decide', () => {
  it('records one Experience Viewed per slot it rendered', async () => {
    const { w, elements, requests } = page();
    const t = tracker(w, { autocapture: false });
    const d = await t.decide();
    expect(d.segments).toEqual(['high-ltv']);
    expect(requests[0]?.url).toBe('https://collect.example.com/v1/decide');
    expect(elements[0]?.innerHTML).toBe('<b>VIP15</b>');
    const viewed = queued(t).filter((m) => m.event === 'Experience Viewed');
    expect(viewed.map((m) => ({ type: m.type, anonymousId: m.anonymousId, properties: m.properties }))).toEqual([
      { type: 'track', anonymousId: t.aid, properties: { slot: 'home-banner', experience_id: 'demo-home-banner', rule_id: 'vip-discount', holdout: false } },
      { type: 'track', anonymousId: t.aid, properties: { slot: 'sidebar', experience_id: 'side', rule_id: null, holdout: true } },
    ]);
  });

  it('records nothing with render: false, with trackExposures: false, or without consent', async () => {
    const a = page();
    const notRendered = tracker(a.w);
    await notRendered.decide({ render: false });
    expect(a.elements[0]?.innerHTML).toBe('Free delivery');
    expect(queued(notRendered)).toEqual([]);

    const b = page();
    const off = tracker(b.w, { trackExposures: false });
    await off.decide();
    expect(b.elements[0]?.innerHTML).toBe('<b>VIP15</b>');
    expect(queued(off)).toEqual([]);

    const c = page();
    const waiting = tracker(c.w, { requireConsent: true });
    expect(await waiting.decide()).toEqual({ segments: [], slots: {}, fallback: true });
    expect(c.requests).toEqual([]);
    waiting.consent({ analytics: false });
    expect(queued(waiting)).toEqual([]);
  });
});
