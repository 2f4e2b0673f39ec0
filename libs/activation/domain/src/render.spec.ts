import type { SegmentMembershipChange } from '@mosaic/contracts';
import { checkTemplate, MAX_TEMPLATE_BYTES, renderTemplate, type TemplateContext, templateContext, TemplateError } from './render';

const CONTEXT: TemplateContext = {
  profile: { id: 'prof_1', traits: { firstName: 'Ada', bio: '<script>alert("x")</script> & co', email: 'ada@example.com' }, computed: { orders: { count: 3 }, priceTier: 'premium' } },
  segment: { key: 'vip-offer', version: 2 },
  change: { type: 'entered', at: '2026-01-01T10:30:00.000Z' },
};

describe('renderTemplate', () => {
  it('renders profile, segment and change', () => {
    expect(renderTemplate('{{ profile.traits.firstName }} ({{ profile.id }}) {{ change.type }} {{ segment.key }} v{{ segment.version }}, {{ profile.computed.orders.count }} orders', CONTEXT)).toBe(
      'Ada (prof_1) entered vip-offer v2, 3 orders',
    );
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
    const tpl = "{% if profile.computed.priceTier == 'premium' %}{{ profile.traits.firstName | upcase }}{% else %}no{% endif %} {{ change.at | date: '%Y-%m-%d %H:%M' }}";
    expect(renderTemplate(tpl, CONTEXT)).toBe('ADA 2026-01-01 10:30');
  });

  it('hides prototype properties', () => {
    expect(renderTemplate('[{{ profile.constructor }}{{ profile.traits.__proto__ }}]', CONTEXT)).toBe('[]');
  });

  it('rejects unknown filters', () => {
    expect(() => renderTemplate('{{ profile.id | nosuch }}', CONTEXT)).toThrow(TemplateError);
    expect(() => renderTemplate('{{ profile.id | nosuch }}', CONTEXT)).toThrow(/undefined filter: nosuch/);
  });

  it.each([["{% include '/etc/hostname' %}"], ["{% render 'partial' %}"], ["{% layout 'base' %}x"], ['{% include profile.id %}']])('reads no files: %s', (tpl) => {
    expect(() => renderTemplate(tpl, CONTEXT)).toThrow(TemplateError);
  });

  it('limits template size', () => {
    const big = 'é'.repeat(MAX_TEMPLATE_BYTES / 2 + 1); // fewer characters than bytes
    expect(() => renderTemplate(big, CONTEXT)).toThrow(/at most 65536 bytes/);
    expect(renderTemplate('a'.repeat(MAX_TEMPLATE_BYTES), CONTEXT)).toHaveLength(MAX_TEMPLATE_BYTES);
  });

  it('stops runaway loops and memory growth', () => {
    expect(() => renderTemplate('{% for i in (1..1000) %}{% for j in (1..1000) %}{% endfor %}{% endfor %}', CONTEXT)).toThrow(/limit exceeded/);
    expect(() => renderTemplate("{% assign s = 'aaaaaaaaaa' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}", CONTEXT)).toThrow(/limit exceeded/);
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
