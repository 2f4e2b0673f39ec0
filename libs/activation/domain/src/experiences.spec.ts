import { createHash } from 'node:crypto';
import {
  compareValue,
  type Comparison,
  decide,
  decideSlots,
  DecisionMemo,
  EXPERIENCE_LIMITS,
  type Experience,
  holdoutBucket,
  matchesWhen,
  readAttribute,
  renderContent,
  stableVisitorId,
  validateExperience,
  type Visitor,
} from './experiences';
import { RENDER_LIMITS, RenderBudget } from './render';

/** The example of the README: the three seeds on the home banner. */
const HOME_BANNER = {
  id: 'home-banner-v1',
  slot: 'home-banner',
  name: 'Home banner',
  enabled: true,
  holdoutPercent: 10,
  rules: [
    {
      id: 'premium',
      when: { segments: { all: ['premium-coffee-browsers'] } },
      content: { html: "<h2>Hi {{ profile.traits.firstName | default: 'there' }}, meet the Barista Pro</h2>" },
    },
    {
      id: 'vip',
      when: { segments: { any: ['high-ltv'] }, traits: [{ trait: 'plan', op: 'equals', value: 'gold' }] },
      content: { json: { code: 'VIP15' } },
    },
    {
      id: 'loyal',
      when: { attributes: [{ attribute: 'orders.count', op: 'gte', value: 3 }] },
      content: { text: 'Welcome back, {{ profile.traits.firstName }}!' },
    },
  ],
  default: { html: '<h2>Fresh coffee, every day</h2>' },
};

function valid(input: unknown): Experience {
  const r = validateExperience(input);
  if (!r.ok) throw new Error(`expected a valid experience: ${JSON.stringify(r.errors)}`);
  return r.value;
}

function errorsOf(input: unknown): { path: string; message: string }[] {
  const r = validateExperience(input);
  if (r.ok) throw new Error('expected the experience to be invalid');
  return r.errors;
}

function visitor(over: Partial<Visitor> = {}): Visitor {
  return { segments: [], traits: {}, computed: {}, ...over };
}

/** The home banner without holdout, so rule matching is tested on its own. */
const BANNER = valid({ ...HOME_BANNER, holdoutPercent: 0 });

function withRule(rule: object, extra: object = {}): Experience {
  return valid({ id: 'x', slot: 's', name: 'X', rules: [{ id: 'r', content: { text: 'rule' }, ...rule }], default: { text: 'default' }, ...extra });
}

describe('validateExperience', () => {
  it('accepts the example, returns a copy and applies defaults', () => {
    const r = validateExperience(HOME_BANNER);
    expect(r).toEqual({ ok: true, value: HOME_BANNER });
    expect(r.ok && r.value.rules).not.toBe(HOME_BANNER.rules);
    expect(valid({ id: 'e', slot: 's', name: 'n', default: { text: '' } })).toEqual({
      id: 'e',
      slot: 's',
      name: 'n',
      enabled: true,
      holdoutPercent: 0,
      rules: [],
      default: { text: '' },
    });
  });

  const rule0 = HOME_BANNER.rules[0];
  const withRule0 = (patch: object): object => ({ ...HOME_BANNER, rules: [{ ...rule0, ...patch }] });
  const cmp = (c: object): object => withRule0({ when: { traits: [{ trait: 'plan', ...c }] } });

  it.each(
    [
      [null, '$'],
      [[], '$'],
      [{ ...HOME_BANNER, id: undefined }, 'id'],
      [{ ...HOME_BANNER, slot: 'has space' }, 'slot'],
      [{ ...HOME_BANNER, name: '' }, 'name'],
      [{ ...HOME_BANNER, default: undefined }, 'default'],
      [{ ...HOME_BANNER, enabled: 'yes' }, 'enabled'],
      [{ ...HOME_BANNER, holdoutPercent: 150 }, 'holdoutPercent'],
      [{ ...HOME_BANNER, holdoutPercent: -1 }, 'holdoutPercent'],
      [{ ...HOME_BANNER, audience: 'all' }, 'audience'],
      [{ ...HOME_BANNER, rules: {} }, 'rules'],
      [{ ...HOME_BANNER, rules: Array.from({ length: 21 }, (_, i) => ({ id: `r${i}`, content: { text: 'x' } })) }, 'rules'],
      [{ ...HOME_BANNER, rules: [rule0, rule0] }, 'rules[1].id'],
      [withRule0({ id: '-bad' }), 'rules[0].id'],
      [withRule0({ priority: 1 }), 'rules[0].priority'],
      [withRule0({ content: undefined }), 'rules[0].content'],
      [withRule0({ when: { expression: 'profile.plan == "gold"' } }), 'rules[0].when.expression'],
      [withRule0({ when: { segments: { all: ['ok', 'not ok'] } } }), 'rules[0].when.segments.all[1]'],
      [withRule0({ when: { segments: { any: [] } } }), 'rules[0].when.segments.any'],
      [withRule0({ when: { segments: { some: ['a'] } } }), 'rules[0].when.segments.some'],
      [withRule0({ when: { segments: 'vip' } }), 'rules[0].when.segments'],
      [cmp({ op: 'matches', value: 'g.*' }), 'rules[0].when.traits[0].op'],
      [cmp({ op: 'equals' }), 'rules[0].when.traits[0].value'],
      [cmp({ op: 'equals', value: null }), 'rules[0].when.traits[0].value'],
      [cmp({ op: 'equals', value: { $ne: 1 } }), 'rules[0].when.traits[0].value'],
      [cmp({ op: 'exists', value: true }), 'rules[0].when.traits[0].value'],
      [cmp({ op: 'in', value: 'gold' }), 'rules[0].when.traits[0].value'],
      [cmp({ op: 'in', value: ['gold', ['x']] }), 'rules[0].when.traits[0].value[1]'],
      [cmp({ op: 'gt', value: true }), 'rules[0].when.traits[0].value'],
      [cmp({ op: 'equals', value: 'x'.repeat(257) }), 'rules[0].when.traits[0].value'],
      [withRule0({ when: { traits: [{ op: 'exists' }] } }), 'rules[0].when.traits[0].trait'],
      [withRule0({ when: { attributes: [{ attribute: 'orders..count', op: 'exists' }] } }), 'rules[0].when.attributes[0].attribute'],
      [withRule0({ when: { attributes: [{ trait: 'plan', attribute: 'a', op: 'exists' }] } }), 'rules[0].when.attributes[0].trait'],
      [withRule0({ content: { html: '<b>', text: 'b' } }), 'rules[0].content'],
      [withRule0({ content: {} }), 'rules[0].content'],
      [withRule0({ content: { html: '<b>hi</b>', markdown: '*hi*' } }), 'rules[0].content.markdown'],
      [withRule0({ content: { html: 42 } }), 'rules[0].content.html'],
      [withRule0({ content: { html: '{{ profile.traits.firstName | shout }}' } }), 'rules[0].content.html'],
      [withRule0({ content: { text: '{% if x %}unclosed' } }), 'rules[0].content.text'],
      [withRule0({ content: { html: 'x'.repeat(16 * 1024 + 1) } }), 'rules[0].content.html'],
      [withRule0({ content: { json: ['VIP15'] } }), 'rules[0].content.json'],
      [withRule0({ content: { json: { offer: { code: '{{ x | nope }}' } } } }), 'rules[0].content.json.offer.code'],
      [withRule0({ content: { json: { list: ['ok', '{{ x | nope }}'] } } }), 'rules[0].content.json.list[1]'],
      [withRule0({ content: { json: { a: { b: { c: { d: { e: { f: 1 } } } } } } } }), 'rules[0].content.json.a.b.c.d.e'],
      [withRule0({ content: { json: { big: 'x'.repeat(16 * 1024) } } }), 'rules[0].content.json'],
      [{ ...HOME_BANNER, default: { html: '{{ a | nope }}' } }, 'default.html'],
    ].map(([input, path]) => [path, input]),
  )('rejects case %# at %s', (path, input) => {
    expect(errorsOf(input).map((e) => e.path)).toEqual([path]);
  });

  it('explains the errors', () => {
    const errors = errorsOf({
      ...HOME_BANNER,
      holdoutPercent: 150,
      rules: [{ ...rule0, content: { html: '<b>{{ name | shout }}</b>', json: { a: 1 } }, when: { traits: [{ trait: 'plan', op: 'like', value: 'g%' }] } }],
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: 'holdoutPercent', message: 'must be at most 100' },
        { path: 'rules[0].content', message: 'must have exactly one of html, text, json (not html and json)' },
        { path: 'rules[0].when.traits[0].op', message: expect.stringMatching(/^must be one of equals, notEquals, in, .* lte$/) },
      ]),
    );
    expect(errorsOf({ ...HOME_BANNER, default: { html: '{{ x | shout }}' } })[0].message).toMatch(/^is not a valid Liquid template: .*shout/);
    expect(errorsOf({ ...HOME_BANNER, rules: Array(21).fill(rule0) })).toEqual([{ path: 'rules', message: 'must have at most 20 rules' }]);
  });

  it('accepts every operator with a value of its type, and the limits themselves', () => {
    const conditions = [
      { trait: 'plan', op: 'equals', value: false },
      { trait: 'plan', op: 'notEquals', value: 3 },
      { trait: 'plan', op: 'in', value: ['gold', 1, true] },
      { trait: 'plan', op: 'notIn', value: [''] },
      { trait: 'tags', op: 'contains', value: 'x' },
      { trait: 'plan', op: 'exists' },
      { trait: 'plan', op: 'notExists' },
      { trait: 'age', op: 'gt', value: 18 },
      { trait: 'since', op: 'gte', value: '2024-01-01' },
      { trait: 'age', op: 'lt', value: 1.5 },
      { trait: 'age', op: 'lte', value: -3 },
    ];
    expect(validateExperience(withRule0({ when: { traits: conditions } })).ok).toBe(true);
    const rules = Array.from({ length: EXPERIENCE_LIMITS.maxRules }, (_, i) => ({ id: `r${i}`, content: { html: 'x'.repeat(16 * 1024) } }));
    expect(validateExperience({ ...HOME_BANNER, holdoutPercent: 100, rules }).ok).toBe(true);
    expect(validateExperience(withRule0({ when: {}, content: { json: { a: { b: { c: { d: { e: 1 }, f: [null, true, '{{ x }}'] } } } } } })).ok).toBe(true);
  });
});

describe('compareValue', () => {
  const c = (op: string, value?: unknown): Comparison => ({ op, value }) as Comparison;

  it.each([
    ['equals', 'gold', 'gold', true],
    ['equals', 'gold', 'Gold', false],
    ['equals', 3, '3', false],
    ['equals', 3, 3, true],
    ['equals', true, true, true],
    ['notEquals', 'gold', 'silver', true],
    ['notEquals', 'gold', 'gold', false],
    ['in', ['gold', 'silver'], 'silver', true],
    ['in', ['gold', 'silver'], 'bronze', false],
    ['in', [1, 2], '1', false],
    ['notIn', ['gold'], 'silver', true],
    ['notIn', ['gold'], 'gold', false],
    ['contains', 'cof', 'coffee', true],
    ['contains', 'tea', 'coffee', false],
    ['contains', 'coffee', ['tea', 'coffee'], true],
    ['contains', 'cof', ['coffee'], false],
    ['contains', 1, 12, false],
    ['exists', undefined, 0, true],
    ['exists', undefined, '', true],
    ['notExists', undefined, false, false],
    ['gt', 2, 3, true],
    ['gt', 3, 3, false],
    ['gte', 3, 3, true],
    ['lt', 3, 2, true],
    ['lte', 3, 4, false],
    ['gt', 2, '3', false],
    ['lt', '10', 9, false],
    ['gt', '2024-01-01', '2024-06-01', true],
    ['lt', 'b', 'a', true],
    ['gte', 1, true, false],
    ['gt', 1, [5], false],
  ])('%s %p against %p is %p', (op, value, actual, expected) => {
    expect(compareValue(actual, c(op, value))).toBe(expected);
  });

  it.each([
    ['equals', 'x', false],
    ['notEquals', 'x', true],
    ['in', ['x'], false],
    ['notIn', ['x'], true],
    ['contains', 'x', false],
    ['exists', undefined, false],
    ['notExists', undefined, true],
    ['gt', 0, false],
    ['gte', '', false],
    ['lt', 0, false],
    ['lte', 'z', false],
  ])('a missing value: %s %p is %p (undefined and null)', (op, value, expected) => {
    expect(compareValue(undefined, c(op, value))).toBe(expected);
    expect(compareValue(null, c(op, value))).toBe(expected);
  });

  it('reads attribute paths through own properties of objects only', () => {
    expect(readAttribute({ orders: { count: 3 } }, 'orders.count')).toBe(3);
    expect(readAttribute({ orders: { count: 3 } }, 'orders.total')).toBeUndefined();
    expect(readAttribute({ orders: 3 }, 'orders.count')).toBeUndefined();
    expect(readAttribute({ orders: [{ count: 1 }] }, 'orders.0')).toBeUndefined();
    expect(readAttribute({}, 'constructor')).toBeUndefined();
    expect(readAttribute({ a: {} }, 'a.toString')).toBeUndefined();
  });
});

describe('matchesWhen', () => {
  it('holds for an absent or empty when', () => {
    expect(matchesWhen(undefined, visitor())).toBe(true);
    expect(matchesWhen({}, visitor())).toBe(true);
  });

  it('segments: all, any and none', () => {
    const v = visitor({ segments: ['a', 'b'] });
    expect(matchesWhen({ segments: { all: ['a', 'b'] } }, v)).toBe(true);
    expect(matchesWhen({ segments: { all: ['a', 'c'] } }, v)).toBe(false);
    expect(matchesWhen({ segments: { any: ['c', 'b'] } }, v)).toBe(true);
    expect(matchesWhen({ segments: { any: ['c', 'd'] } }, v)).toBe(false);
    expect(matchesWhen({ segments: { none: ['c'] } }, v)).toBe(true);
    expect(matchesWhen({ segments: { none: ['c', 'a'] } }, v)).toBe(false);
    expect(matchesWhen({ segments: { all: ['a'], any: ['b'], none: ['b'] } }, v)).toBe(false);
  });

  it('traits and attributes: every condition must hold, missing ones do not', () => {
    const v = visitor({ traits: { plan: 'gold', age: 40 }, computed: { orders: { count: 3 } } });
    expect(
      matchesWhen(
        {
          traits: [
            { trait: 'plan', op: 'equals', value: 'gold' },
            { trait: 'age', op: 'gte', value: 18 },
          ],
        },
        v,
      ),
    ).toBe(true);
    expect(
      matchesWhen(
        {
          traits: [
            { trait: 'plan', op: 'equals', value: 'gold' },
            { trait: 'age', op: 'lt', value: 18 },
          ],
        },
        v,
      ),
    ).toBe(false);
    expect(matchesWhen({ traits: [{ trait: 'country', op: 'equals', value: 'FR' }] }, v)).toBe(false);
    expect(matchesWhen({ traits: [{ trait: 'country', op: 'notExists' }] }, v)).toBe(true);
    expect(matchesWhen({ traits: [{ trait: 'constructor', op: 'exists' }] }, v)).toBe(false);
    expect(matchesWhen({ attributes: [{ attribute: 'orders.count', op: 'gte', value: 3 }] }, v)).toBe(true);
    expect(matchesWhen({ attributes: [{ attribute: 'orders.count', op: 'gt', value: 3 }] }, v)).toBe(false);
    expect(matchesWhen({ attributes: [{ attribute: 'orders.count', op: 'gte', value: 3 }] }, visitor())).toBe(false);
    // Traits are looked up by name, not by path.
    expect(matchesWhen({ traits: [{ trait: 'orders.count', op: 'exists' }] }, visitor({ traits: { orders: { count: 1 } } }))).toBe(false);
  });

  it('needs all parts to hold', () => {
    const when = { segments: { any: ['high-ltv'] }, traits: [{ trait: 'plan', op: 'equals' as const, value: 'gold' }] };
    expect(matchesWhen(when, visitor({ segments: ['high-ltv'], traits: { plan: 'gold' } }))).toBe(true);
    expect(matchesWhen(when, visitor({ segments: ['high-ltv'], traits: { plan: 'silver' } }))).toBe(false);
    expect(matchesWhen(when, visitor({ segments: [], traits: { plan: 'gold' } }))).toBe(false);
  });
});

describe('decide', () => {
  it('the premium-coffee promotion for premium browsers, first name or "there", escaped', () => {
    const d = decide(BANNER, visitor({ profileId: 'p1', segments: ['premium-coffee-browsers'], traits: { firstName: 'Ada' } }));
    expect(d).toEqual({
      slot: 'home-banner',
      experienceId: 'home-banner-v1',
      ruleId: 'premium',
      holdout: false,
      content: { html: '<h2>Hi Ada, meet the Barista Pro</h2>' },
    });
    expect(decide(BANNER, visitor({ segments: ['premium-coffee-browsers'] })).content).toEqual({ html: '<h2>Hi there, meet the Barista Pro</h2>' });
  });

  it('the discount code for high lifetime value (gold plan)', () => {
    const d = decide(BANNER, visitor({ profileId: 'p2', segments: ['high-ltv'], traits: { plan: 'gold' } }));
    expect(d).toMatchObject({ ruleId: 'vip', holdout: false, content: { json: { code: 'VIP15' } } });
    expect(decide(BANNER, visitor({ segments: ['high-ltv'], traits: { plan: 'silver' } })).ruleId).toBeNull();
  });

  it('the welcome back for loyal customers', () => {
    const d = decide(BANNER, visitor({ userId: 'u3', traits: { firstName: 'Grace' }, computed: { orders: { count: 3 } } }));
    expect(d).toMatchObject({ ruleId: 'loyal', content: { text: 'Welcome back, Grace!' } });
    expect(decide(BANNER, visitor({ computed: { orders: { count: 2 } } })).ruleId).toBeNull();
    expect(decide(BANNER, visitor({ computed: { orders: { count: '3' } } })).ruleId).toBeNull();
  });

  it('takes the first matching rule in order, else the default', () => {
    const all = visitor({ segments: ['premium-coffee-browsers', 'high-ltv'], traits: { plan: 'gold' }, computed: { orders: { count: 9 } } });
    expect(decide(BANNER, all).ruleId).toBe('premium');
    expect(decide({ ...BANNER, rules: [...BANNER.rules].reverse() }, all).ruleId).toBe('loyal');
    expect(decide({ ...BANNER, rules: BANNER.rules.slice(1) }, all).ruleId).toBe('vip');
    expect(decide(BANNER, visitor())).toEqual({
      slot: 'home-banner',
      experienceId: 'home-banner-v1',
      ruleId: null,
      holdout: false,
      content: { html: '<h2>Fresh coffee, every day</h2>' },
    });
  });

  it('a rule without when always matches', () => {
    expect(decide(withRule({}), visitor())).toMatchObject({ ruleId: 'r', content: { text: 'rule' } });
  });

  it('escapes a first name in html, not in text or JSON strings', () => {
    const name = '<script>alert(1)</script>';
    const v = visitor({ segments: ['premium-coffee-browsers'], traits: { firstName: name }, computed: { orders: { count: 5 } } });
    expect(decide(BANNER, v).content.html).toBe('<h2>Hi &lt;script&gt;alert(1)&lt;/script&gt;, meet the Barista Pro</h2>');
    expect(decide({ ...BANNER, rules: BANNER.rules.slice(2) }, v).content.text).toBe(`Welcome back, ${name}!`);
    const json = withRule({ content: { json: { greeting: 'Hi {{ profile.traits.firstName }}', n: 1, tags: ['{{ segments | join: "," }}'] } } });
    expect(decide(json, v).content.json).toEqual({ greeting: `Hi ${name}`, n: 1, tags: ['premium-coffee-browsers'] });
  });

  it('gives templates the profile id, computed attributes and segments', () => {
    const e = withRule({ content: { text: "{{ profile.id }}/{{ profile.computed.orders.count }}/{% if segments contains 'vip' %}vip{% endif %}" } });
    expect(decide(e, visitor({ profileId: 'p9', segments: ['vip'], computed: { orders: { count: 4 } } })).content.text).toBe('p9/4/vip');
    expect(decide(e, visitor({ anonymousId: 'a1' })).content.text).toBe('//');
  });

  it('keeps a __proto__ key of JSON content as a plain key', () => {
    const json = JSON.parse('{"__proto__": {"polluted": "{{ profile.id }}"}}');
    const d = decide(withRule({ content: { json } }), visitor({ profileId: 'p1' }));
    expect(Object.getPrototypeOf(d.content.json)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(d.content.json, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  const RUNAWAY = "{% assign s = 'aaaaaaaaaa' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}";

  it('falls back to the default when the rule content fails to render', () => {
    const e = withRule({ content: { html: RUNAWAY } });
    const d = decide(e, visitor({ profileId: 'p1' }));
    expect(d).toMatchObject({ ruleId: null, holdout: false, content: { text: 'default' } });
    expect(d.error).toMatch(/^rule r: .*limit exceeded/);
  });

  // Each string alone stays under the step limit (99,002 steps); together they are 20 times it.
  const LOOP = '{% for i in (1..99000) %}{% endfor %}';
  const LOOPS = { json: { items: Array.from({ length: 20 }, () => LOOP), nested: { more: LOOP } } };

  it('renders all the strings of a json content from one budget: many loop strings are cut off within it', () => {
    const budget = new RenderBudget();
    expect(() => renderContent(LOOPS, { profile: { id: 'p1', traits: {}, computed: {} }, segments: [] }, budget)).toThrow(/render steps limit exceeded/);
    expect(budget.steps).toBeGreaterThan(RENDER_LIMITS.steps);
    expect(budget.steps).toBeLessThanOrEqual(RENDER_LIMITS.steps + 2);
    const d = decide(withRule({ content: LOOPS }), visitor({ profileId: 'p1' }));
    expect(d).toMatchObject({ ruleId: null, content: { text: 'default' } }); // the default has a budget of its own
    expect(d.error).toMatch(/^rule r: render steps limit exceeded/);
  });

  it('gives empty content when the default fails too', () => {
    // Stored before a filter was removed: not re-validated on the decision path.
    const e: Experience = { ...withRule({}), rules: [{ id: 'r', content: { text: '{{ x | gone }}' } }], default: { json: { a: '{{ x | gone }}' } } };
    const d = decide(e, visitor());
    expect(d).toMatchObject({ ruleId: null, holdout: false, content: {} });
    expect(d.error).toMatch(/^rule r: .*gone.*; default: .*gone/);
    const defaultOnly = decide({ ...e, rules: [] }, visitor());
    expect(defaultOnly.content).toEqual({});
    expect(defaultOnly.error).toMatch(/^default: /);
  });

  it('reports no error when nothing failed', () => {
    expect(decide(BANNER, visitor())).not.toHaveProperty('error');
  });
});

describe('holdout', () => {
  it('buckets deterministically in [0, 100) from SHA-256 of "<experience>|<visitor>"', () => {
    const b = holdoutBucket('home-banner-v1', 'p1');
    expect(b).toBe(holdoutBucket('home-banner-v1', 'p1'));
    const expected = (createHash('sha256').update('home-banner-v1|p1').digest().readUInt32BE(0) / 2 ** 32) * 100;
    expect(b).toBe(expected);
    expect(b).toBeGreaterThanOrEqual(0);
    expect(b).toBeLessThan(100);
    expect(holdoutBucket('home-banner-v2', 'p1')).not.toBe(b);
  });

  it('uses profileId, else userId, else anonymousId', () => {
    expect(stableVisitorId({ profileId: 'p', userId: 'u', anonymousId: 'a' })).toBe('p');
    expect(stableVisitorId({ userId: 'u', anonymousId: 'a' })).toBe('u');
    expect(stableVisitorId({ profileId: '', anonymousId: 'a' })).toBe('a');
    expect(stableVisitorId({})).toBeUndefined();
  });

  function ids(n: number): string[] {
    return Array.from({ length: n }, (_, i) => `prof_${i}`);
  }

  it('holds out about holdoutPercent of visitors (10% of 10 000 within ±2%), always the same ones', () => {
    const e = valid({ ...HOME_BANNER, rules: [{ id: 'all', content: { text: 'x' } }] });
    const held = ids(10_000).filter((id) => decide(e, visitor({ profileId: id })).holdout);
    expect(held.length).toBeGreaterThanOrEqual(800);
    expect(held.length).toBeLessThanOrEqual(1200);
    expect(held.every((id) => holdoutBucket(e.id, id) < 10)).toBe(true);
    const again = ids(10_000).filter((id) => decide(e, visitor({ profileId: id, anonymousId: 'other' })).holdout);
    expect(again).toEqual(held);
  });

  it('gives held-out visitors the default, even when a rule matches', () => {
    const e = valid({ ...HOME_BANNER, rules: [{ id: 'all', content: { text: 'x' } }] });
    const id = ids(1000).find((x) => holdoutBucket(e.id, x) < 10) as string;
    expect(decide(e, visitor({ profileId: id }))).toEqual({
      slot: 'home-banner',
      experienceId: 'home-banner-v1',
      ruleId: null,
      holdout: true,
      content: { html: '<h2>Fresh coffee, every day</h2>' },
    });
    expect(decide(e, visitor({ profileId: id }), { skipHoldout: true })).toMatchObject({ ruleId: 'all', holdout: false });
    const notHeld = ids(1000).find((x) => holdoutBucket(e.id, x) >= 10) as string;
    expect(decide(e, visitor({ profileId: notHeld })).ruleId).toBe('all');
  });

  it('0% holds out nobody, 100% everybody with an id, and visitors without any id never', () => {
    const rule = { id: 'all', content: { text: 'x' } };
    const none = valid({ ...HOME_BANNER, holdoutPercent: 0, rules: [rule] });
    const everyone = valid({ ...HOME_BANNER, holdoutPercent: 100, rules: [rule] });
    expect(ids(500).some((id) => decide(none, visitor({ userId: id })).holdout)).toBe(false);
    expect(ids(500).every((id) => decide(everyone, visitor({ anonymousId: id })).holdout)).toBe(true);
    expect(decide(everyone, visitor())).toMatchObject({ holdout: false, ruleId: 'all' });
    expect(decide(everyone, visitor({ profileId: '' }))).toMatchObject({ holdout: false, ruleId: 'all' });
  });
});

describe('decideSlots', () => {
  const footer = valid({ id: 'footer-a', slot: 'footer', name: 'Footer', default: { text: 'footer a' } });
  const footerB = valid({ id: 'footer-b', slot: 'footer', name: 'Footer B', default: { text: 'footer b' } });
  const sidebarOff = valid({ id: 'sidebar', slot: 'sidebar', name: 'Sidebar', enabled: false, default: { text: 'off' } });
  const all = [BANNER, footerB, footer, sidebarOff];

  it('decides only the requested slots that have an enabled experience', () => {
    const r = decideSlots(all, ['home-banner', 'sidebar', 'nowhere'], visitor({ segments: ['premium-coffee-browsers'] }));
    expect(Object.keys(r)).toEqual(['home-banner']);
    expect(r['home-banner']).toMatchObject({ experienceId: 'home-banner-v1', ruleId: 'premium' });
    expect(decideSlots(all, [], visitor())).toEqual({});
  });

  it('picks the first experience by id when a slot has several, whatever their order', () => {
    expect(decideSlots(all, ['footer'], visitor())['footer']).toMatchObject({ experienceId: 'footer-a', content: { text: 'footer a' } });
    expect(decideSlots([footer, footerB], ['footer'], visitor())['footer'].experienceId).toBe('footer-a');
    expect(decideSlots([{ ...footer, enabled: false }, footerB], ['footer'], visitor())['footer'].experienceId).toBe('footer-b');
  });

  it('decides each slot once and ignores odd slot names', () => {
    const r = decideSlots(all, ['footer', 'footer', '__proto__', 'constructor'], visitor());
    expect(Object.keys(r)).toEqual(['footer']);
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
  });
});

describe('DecisionMemo', () => {
  const premium = (firstName: string) => ({ profileId: 'p-1', segments: ['premium-coffee-browsers'], traits: { firstName }, computed: {} });
  const asVisitor = (p: ReturnType<typeof premium>) => visitor({ ...p });

  it('reuses the decisions of an unchanged profile for the same slots and experiences', () => {
    const memo = new DecisionMemo<object>();
    const profile = premium('Ada');
    const experiences = [BANNER];
    const first = memo.decide(profile, experiences, ['home-banner'], { ...asVisitor(profile), profileId: 'p-1' });
    expect(first['home-banner']?.content).toEqual({ html: '<h2>Hi Ada, meet the Barista Pro</h2>' });
    expect(memo.decide(profile, experiences, ['home-banner'], { ...asVisitor(profile), profileId: 'p-1' })).toBe(first);
    expect(memo.hits).toBe(1);
  });

  it('decides again for a replaced profile object, another experiences list or other slots', () => {
    const memo = new DecisionMemo<object>();
    const experiences = [BANNER];
    const before = premium('Ada');
    memo.decide(before, experiences, ['home-banner'], { ...asVisitor(before), profileId: 'p-1' });
    const after = premium('Grace');
    expect(memo.decide(after, experiences, ['home-banner'], { ...asVisitor(after), profileId: 'p-1' })['home-banner']?.content).toEqual({
      html: '<h2>Hi Grace, meet the Barista Pro</h2>',
    });
    const edited = [valid({ ...HOME_BANNER, holdoutPercent: 0, rules: [] })];
    expect(memo.decide(after, edited, ['home-banner'], { ...asVisitor(after), profileId: 'p-1' })['home-banner']?.content).toEqual({
      html: '<h2>Fresh coffee, every day</h2>',
    });
    expect(memo.decide(after, edited, ['home-banner', 'other'], { ...asVisitor(after), profileId: 'p-1' })).toEqual(
      decideSlots(edited, ['home-banner', 'other'], { ...asVisitor(after), profileId: 'p-1' }),
    );
    expect(memo.hits).toBe(0);
  });
});
