import type { SegmentMembershipChange } from '@mosaic/contracts';
import { checkTemplate, MAX_TEMPLATE_BYTES, RENDER_LIMITS, RenderBudget, renderTemplate, type TemplateContext, templateContext, TemplateError } from './render';

const CONTEXT: TemplateContext = {
  profile: {
    id: 'prof_1',
    traits: { firstName: 'Ada', bio: '<script>alert("x")</script> & co', email: 'ada@example.com' },
    computed: { orders: { count: 3 }, priceTier: 'premium' },
  },
  segment: { key: 'vip-offer', version: 2 },
  change: { type: 'entered', at: '2026-01-01T10:30:00.000Z' },
};

describe('renderTemplate', () => {
  it('renders profile, segment and change', () => {
    expect(
      renderTemplate(
        '{{ profile.traits.firstName }} ({{ profile.id }}) {{ change.type }} {{ segment.key }} v{{ segment.version }}, {{ profile.computed.orders.count }} orders',
        CONTEXT,
      ),
    ).toBe('Ada (prof_1) entered vip-offer v2, 3 orders');
  });

  it('renders a template parsed once with each context and each escaping, and refuses a bad one every time', () => {
    const template = 'Hi {{ profile.traits.firstName }} {{ profile.traits.bio }}';
    const other = { ...CONTEXT, profile: { ...CONTEXT.profile, traits: { firstName: 'Grace', bio: '<b>' } } };
    expect(renderTemplate(template, CONTEXT, { escape: false })).toBe('Hi Ada <script>alert("x")</script> & co');
    expect(renderTemplate(template, other)).toBe('Hi Grace &lt;b&gt;');
    expect(renderTemplate(template, other, { escape: false })).toBe('Hi Grace <b>');
    for (let i = 0; i < 2; i += 1) expect(() => renderTemplate('{{ x | nope }}', CONTEXT)).toThrow(TemplateError);
  });

  it('HTML-escapes outputs by default', () => {
    expect(renderTemplate('<p>{{ profile.traits.bio }}</p>', CONTEXT)).toBe('<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</p>');
    expect(renderTemplate('{{ profile.traits.bio }}', CONTEXT, { escape: true })).not.toContain('<script>');
  });

  it('does not escape with escape: false or | raw', () => {
    expect(renderTemplate('{{ profile.traits.bio }}', CONTEXT, { escape: false })).toBe('<script>alert("x")</script> & co');
    expect(renderTemplate('{{ profile.traits.bio | raw }}', CONTEXT)).toContain('<script>');
  });

  it('renders missing variables empty, and default fills them', () => {
    expect(renderTemplate('Hi {{ profile.traits.lastName }}!', CONTEXT)).toBe('Hi !');
    expect(renderTemplate("Hi {{ profile.traits.nickname | default: 'there' }}!", CONTEXT)).toBe('Hi there!');
    expect(renderTemplate("Hi {{ profile.traits.firstName | default: 'there' }}!", CONTEXT)).toBe('Hi Ada!');
    expect(renderTemplate('{{ nothing.at.all }}', CONTEXT)).toBe('');
  });

  it('supports tags and standard filters', () => {
    const tpl =
      "{% if profile.computed.priceTier == 'premium' %}{{ profile.traits.firstName | upcase }}{% else %}no{% endif %} {{ change.at | date: '%Y-%m-%d %H:%M' }}";
    expect(renderTemplate(tpl, CONTEXT)).toBe('ADA 2026-01-01 10:30');
  });

  it('hides prototype properties', () => {
    expect(renderTemplate('[{{ profile.constructor }}{{ profile.traits.__proto__ }}]', CONTEXT)).toBe('[]');
  });

  it('rejects unknown filters', () => {
    expect(() => renderTemplate('{{ profile.id | nosuch }}', CONTEXT)).toThrow(TemplateError);
    expect(() => renderTemplate('{{ profile.id | nosuch }}', CONTEXT)).toThrow(/undefined filter: nosuch/);
  });

  it.each([["{% include '/etc/hostname' %}"], ["{% render 'partial' %}"], ["{% layout 'base' %}x"], ['{% include profile.id %}']])(
    'reads no files: %s',
    (tpl) => {
      expect(() => renderTemplate(tpl, CONTEXT)).toThrow(TemplateError);
    },
  );

  it('limits template size', () => {
    const big = 'é'.repeat(MAX_TEMPLATE_BYTES / 2 + 1); // fewer characters than bytes
    expect(() => renderTemplate(big, CONTEXT)).toThrow(/at most 65536 bytes/);
    expect(renderTemplate('a'.repeat(MAX_TEMPLATE_BYTES), CONTEXT)).toHaveLength(MAX_TEMPLATE_BYTES);
  });

  // Every limit below is counted, not timed: each test names the limit it expects, so none of
  // them can pass because the machine happened to be slow.
  it('stops loops by counted steps, even with empty bodies', () => {
    expect(() => renderTemplate('{% for i in (1..1000) %}{% for j in (1..1000) %}{% endfor %}{% endfor %}', CONTEXT)).toThrow(/render steps limit exceeded/);
    expect(() => renderTemplate(`{% for i in (1..${RENDER_LIMITS.steps}) %}{% endfor %}`, CONTEXT)).toThrow(/render steps limit exceeded/);
  });

  it('renders loops just under the step limit', () => {
    // the template (2 steps) and the loop (1 step) plus one step per iteration with an empty body
    const iterations = RENDER_LIMITS.steps - 3;
    expect(renderTemplate(`{% for i in (1..${iterations}) %}{% endfor %}ok`, CONTEXT)).toBe('ok');
  });

  it('counts tablerow and nested blocks as steps', () => {
    expect(() => renderTemplate('{% tablerow i in (1..400) %}{% for j in (1..400) %}{% if j %}{% endif %}{% endfor %}{% endtablerow %}', CONTEXT)).toThrow(
      /render steps limit exceeded/,
    );
  });

  it('bounds the output size, captures included', () => {
    const kilobyte = 'x'.repeat(1000);
    expect(() => renderTemplate(`{% for i in (1..1001) %}${kilobyte}{% endfor %}`, CONTEXT)).toThrow(/output size limit exceeded/);
    expect(renderTemplate(`{% for i in (1..999) %}${kilobyte}{% endfor %}`, CONTEXT)).toHaveLength(999_000);
    expect(() => renderTemplate(`{% capture c %}{% for i in (1..1001) %}${kilobyte}{% endfor %}{% endcapture %}`, CONTEXT)).toThrow(
      /output size limit exceeded/,
    );
  });

  it('bounds memory created by filters', () => {
    expect(() =>
      renderTemplate("{% assign s = 'aaaaaaaaaa' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}", CONTEXT),
    ).toThrow(/memory alloc limit exceeded/);
  });

  it('keeps one budget per render: consecutive renders do not add up', () => {
    const template = `{% for i in (1..${RENDER_LIMITS.steps / 2}) %}{% endfor %}ok`;
    for (let i = 0; i < 3; i++) expect(renderTemplate(template, CONTEXT)).toBe('ok');
  });
});

describe('RenderBudget', () => {
  it('is spent by every template rendered with it: steps', () => {
    const budget = new RenderBudget();
    const template = `{% for i in (1..${RENDER_LIMITS.steps / 2}) %}{% endfor %}ok`;
    expect(renderTemplate(template, CONTEXT, { budget })).toBe('ok');
    expect(() => renderTemplate(template, CONTEXT, { budget })).toThrow(/render steps limit exceeded/);
    expect(budget.steps).toBeLessThanOrEqual(RENDER_LIMITS.steps + 2);
  });

  it('is spent by every template rendered with it: output characters', () => {
    const budget = new RenderBudget();
    const kilobyte = 'x'.repeat(1000);
    const template = `{% for i in (1..${RENDER_LIMITS.outputChars / 2000 + 1}) %}${kilobyte}{% endfor %}`;
    expect(renderTemplate(template, CONTEXT, { budget, escape: false })).toHaveLength(RENDER_LIMITS.outputChars / 2 + 1000);
    expect(() => renderTemplate(template, CONTEXT, { budget })).toThrow(/output size limit exceeded/);
  });

  it("is spent by every template rendered with it: liquidjs' memory units", () => {
    const budget = new RenderBudget();
    const range = `{% for i in (1..${RENDER_LIMITS.memory / 2 + 1}) limit: 1 %}{% endfor %}ok`; // the range is allocated whole
    expect(renderTemplate(range, CONTEXT, { budget })).toBe('ok');
    expect(() => renderTemplate(range, CONTEXT, { budget })).toThrow(/memory alloc limit exceeded/);
  });

  it('keeps the variables of each template to itself', () => {
    const budget = new RenderBudget();
    expect(renderTemplate("{% assign a = 'one' %}{{ a }}", CONTEXT, { budget })).toBe('one');
    expect(renderTemplate('[{{ a }}]', CONTEXT, { budget })).toBe('[]');
  });
});

describe('checkTemplate', () => {
  it('accepts valid templates and explains invalid ones', () => {
    expect(checkTemplate('Hi {{ profile.traits.firstName | default: "there" }}')).toBeUndefined();
    expect(checkTemplate('{% if x %}')).toMatch(/not closed/);
    expect(checkTemplate('{{ x | nosuch }}')).toMatch(/nosuch/);
    expect(checkTemplate('x'.repeat(MAX_TEMPLATE_BYTES + 1))).toMatch(/at most/);
  });
});

describe('templateContext', () => {
  it('builds the context from a membership change and a profile', () => {
    const change: SegmentMembershipChange = {
      profileId: 'prof_1',
      segmentKey: 'vip-offer',
      segmentVersion: 2,
      change: 'exited',
      at: '2026-01-01T10:30:00.000Z',
      reason: { kind: 'timer' },
      identifiers: {},
      profileVersion: 9,
    };
    expect(templateContext(change, { traits: { a: 1 }, computed: { b: 2 } })).toEqual({
      profile: { id: 'prof_1', traits: { a: 1 }, computed: { b: 2 } },
      segment: { key: 'vip-offer', version: 2 },
      change: { type: 'exited', at: '2026-01-01T10:30:00.000Z' },
    });
  });
});
