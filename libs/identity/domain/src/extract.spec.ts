import { extractIdentifiers, extractionKeys, type IdentityEventInput } from './extract';
import { normalizeEmail, normalizePhone } from './identifier';
import { DEFAULT_IDENTITY_RULES, identityRules } from './rules';

const rules = DEFAULT_IDENTITY_RULES;

function ev(fields: Partial<IdentityEventInput>): IdentityEventInput {
  return { type: 'track', messageId: 'm1', event: 'Product Viewed', properties: {}, traits: {}, context: {}, ...fields };
}

describe('normalizeEmail', () => {
  it.each([
    ['  Ada@Example.COM ', 'ada@example.com'],
    ['a.b+tag@sub.example.org', 'a.b+tag@sub.example.org'],
    ['x@y', 'x@y'],
  ])('%j → %j', (raw, expected) => {
    expect(normalizeEmail(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'email is empty'],
    ['   ', 'email is empty'],
    ['ada.example.com', 'exactly one @'],
    ['a@b@c', 'exactly one @'],
    ['@example.com', 'empty local part'],
    ['ada@', 'empty domain'],
    ['ada lovelace@example.com', 'whitespace'],
    [`${'a'.repeat(250)}@example.com`, 'longer than 254'],
  ])('refuses %j (%s)', (raw, reason) => {
    const result = normalizeEmail(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});

describe('normalizePhone', () => {
  it.each([
    ['+44 20 7946 0958', '+442079460958'],
    ['0044-20-7946-0958', '+442079460958'],
    ['+1 (415) 555-2671', '+14155552671'],
    ['+33.6.12.34.56.78', '+33612345678'],
    ['+12345678', '+12345678'],
    ['+123456789012345', '+123456789012345'],
  ])('%j → %j', (raw, expected) => {
    expect(normalizePhone(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['020 7946 0958', 'no international prefix'],
    ['+1234567', '8 to 15 digits'],
    ['+1234567890123456', '8 to 15 digits'],
    ['+44 20 7946 095x', 'characters other than digits'],
    ['+0 20 7946 0958', 'cannot start with 0'],
    ['', 'empty'],
    ['  -  ', 'empty'],
  ])('refuses %j (%s)', (raw, reason) => {
    const result = normalizePhone(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});

describe('extractIdentifiers', () => {
  it('takes anonymousId and userId (trimmed, case kept), sorted by priority', () => {
    const out = extractIdentifiers(ev({ anonymousId: ' Cookie-1 ', userId: 'U-1' }), rules);
    expect(out.identifiers).toEqual([
      { type: 'userId', value: 'U-1' },
      { type: 'anonymousId', value: 'Cookie-1' },
    ]);
    expect(out.dropped).toEqual([]);
  });

  it('converts numeric ids to strings, as Segment does', () => {
    expect(extractIdentifiers(ev({ userId: 42 }), rules).identifiers).toEqual([{ type: 'userId', value: '42' }]);
  });

  it('takes traits.email and traits.phone on identify only', () => {
    const traits = { email: ' Ada@Example.com', phone: '+44 20 7946 0958' };
    const identify = extractIdentifiers(ev({ type: 'identify', userId: 'u1', traits }), rules);
    expect(identify.identifiers).toEqual([
      { type: 'userId', value: 'u1' },
      { type: 'email', value: 'ada@example.com' },
      { type: 'phone', value: '+442079460958' },
    ]);
    // A group's traits describe the group (its email is the company's): not a person's identifier.
    const group = extractIdentifiers(ev({ type: 'group', userId: 'u1', traits }), rules);
    expect(group.identifiers).toEqual([{ type: 'userId', value: 'u1' }]);
  });

  it('takes context.traits.email/phone on every event type', () => {
    for (const type of ['track', 'page', 'screen', 'group', 'identify']) {
      const out = extractIdentifiers(ev({ type, anonymousId: 'a1', context: { traits: { email: 'b@x.io', phone: '0033 6 12 34 56 78' } } }), rules);
      expect(out.identifiers.map((i) => i.type)).toEqual(['email', 'phone', 'anonymousId']);
    }
  });

  it('takes properties.email on the email and order events only', () => {
    const clicked = extractIdentifiers(ev({ event: 'Email Link Clicked', anonymousId: 'a1', properties: { email: 'C@x.io' } }), rules);
    expect(clicked.identifiers).toContainEqual({ type: 'email', value: 'c@x.io' });
    const order = extractIdentifiers(ev({ event: 'Order Completed', anonymousId: 'a1', properties: { email: 'c@x.io' } }), rules);
    expect(order.identifiers).toContainEqual({ type: 'email', value: 'c@x.io' });
    // A "share with a friend" form: the email is someone else's.
    const other = extractIdentifiers(ev({ event: 'Product Shared', anonymousId: 'a1', properties: { email: 'friend@x.io' } }), rules);
    expect(other.identifiers).toEqual([{ type: 'anonymousId', value: 'a1' }]);
    // Configurable.
    const custom = identityRules({ emailEvents: ['Product Shared'] });
    expect(extractIdentifiers(ev({ event: 'Product Shared', anonymousId: 'a1', properties: { email: 'friend@x.io' } }), custom).identifiers).toContainEqual({
      type: 'email',
      value: 'friend@x.io',
    });
    // properties.email is never read on identify/page.
    expect(extractIdentifiers(ev({ type: 'page', anonymousId: 'a1', properties: { email: 'c@x.io' } }), rules).identifiers).toHaveLength(1);
  });

  it('de-duplicates the same identifier from several sources', () => {
    const out = extractIdentifiers(ev({ type: 'identify', userId: 'u1', traits: { email: 'A@x.io' }, context: { traits: { email: 'a@X.io ' } } }), rules);
    expect(out.identifiers).toEqual([
      { type: 'userId', value: 'u1' },
      { type: 'email', value: 'a@x.io' },
    ]);
  });

  it('reports invalid emails and phones with the reason', () => {
    const out = extractIdentifiers(
      ev({ type: 'identify', userId: 'u1', traits: { email: 'not-an-email', phone: '06 12 34 56 78' }, context: { traits: { email: 7 } } }),
      rules,
    );
    expect(out.identifiers).toEqual([{ type: 'userId', value: 'u1' }]);
    expect(out.dropped).toEqual([
      { source: 'traits.email', type: 'email', value: 'not-an-email', reason: 'invalid', detail: 'email must contain exactly one @' },
      { source: 'context.traits.email', type: 'email', value: '7', reason: 'invalid', detail: 'email must be a string' },
      expect.objectContaining({ source: 'traits.phone', type: 'phone', reason: 'invalid', detail: expect.stringContaining('no international prefix') }),
    ]);
  });

  it.each(['anonymous', 'NULL', 'undefined', '0', '-1', 'NaN', 'none', 'Unknown', 'guest', ' Guest '])(
    'blocks %j by default (case-insensitive) and reports it',
    (value) => {
      const out = extractIdentifiers(ev({ anonymousId: value, userId: 'u1' }), rules);
      expect(out.identifiers).toEqual([{ type: 'userId', value: 'u1' }]);
      expect(out.dropped).toEqual([expect.objectContaining({ source: 'anonymousId', reason: 'blocked', detail: expect.stringContaining('blocked value') })]);
    },
  );

  it('drops empty and whitespace-only ids', () => {
    const out = extractIdentifiers(ev({ anonymousId: '   ', userId: 'u1' }), rules);
    expect(out.identifiers).toEqual([{ type: 'userId', value: 'u1' }]);
    expect(out.dropped[0]).toMatchObject({ source: 'anonymousId', reason: 'invalid' });
  });

  it('blocks by pattern and per type', () => {
    const custom = identityRules({
      blocked: { patterns: ['^test-'] },
      types: { email: { blocked: { values: ['noreply@shop.example'], patterns: [] } } },
    });
    const out = extractIdentifiers(ev({ type: 'identify', anonymousId: 'TEST-123', userId: 'u1', traits: { email: 'NoReply@shop.example' } }), custom);
    expect(out.identifiers).toEqual([{ type: 'userId', value: 'u1' }]);
    expect(out.dropped.map((d) => d.detail)).toEqual(['blocked by pattern /^test-/', 'blocked value "noreply@shop.example" (email rule)']);
    // Per-type values apply to their type only.
    expect(extractIdentifiers(ev({ userId: 'noreply@shop.example' }), custom).identifiers).toEqual([{ type: 'userId', value: 'noreply@shop.example' }]);
  });

  it('maps context.externalIds to external:<type>, lower-cased, id as a string', () => {
    const out = extractIdentifiers(
      ev({
        anonymousId: 'a1',
        context: {
          externalIds: [
            { id: 'crm-9', type: 'CRM_ID', collection: 'users', encoding: 'none' },
            { id: 1234, type: 'pos_customer_id' },
            { id: 'ACME', type: 'salesforce_account', collection: 'accounts' },
            { id: 'x', type: 'bad type!' },
            { id: '', type: 'crm_id' },
            'nope',
          ],
        },
      }),
      rules,
    );
    expect(out.identifiers).toEqual([
      { type: 'external:crm_id', value: 'crm-9' },
      { type: 'external:pos_customer_id', value: '1234' },
      { type: 'anonymousId', value: 'a1' },
    ]);
    expect(out.dropped.map((d) => [d.source, d.reason])).toEqual([
      ['context.externalIds[2].collection', 'ignored'],
      ['context.externalIds[3].type', 'invalid'],
      ['context.externalIds[4].id', 'invalid'],
      ['context.externalIds[5]', 'invalid'],
    ]);
  });

  it('blocks external id values too (0 from a POS with no customer)', () => {
    const out = extractIdentifiers(ev({ anonymousId: 'a1', context: { externalIds: [{ id: 0, type: 'pos_customer_id' }] } }), rules);
    expect(out.identifiers).toEqual([{ type: 'anonymousId', value: 'a1' }]);
    expect(out.dropped[0]).toMatchObject({ reason: 'blocked', type: 'external:pos_customer_id' });
  });

  it('gives an alias previousId two candidates, userId first, and loads both', () => {
    const out = extractIdentifiers({ type: 'alias', messageId: 'm', userId: 'u-new', previousId: 'anon-7', properties: {}, traits: {}, context: {} }, rules);
    expect(out.identifiers).toEqual([{ type: 'userId', value: 'u-new' }]);
    expect(out.aliases).toEqual([
      {
        source: 'previousId',
        value: 'anon-7',
        candidates: [
          { type: 'userId', value: 'anon-7' },
          { type: 'anonymousId', value: 'anon-7' },
        ],
      },
    ]);
    expect(extractionKeys(out).sort()).toEqual(['anonymousId:anon-7', 'userId:anon-7', 'userId:u-new']);
  });

  it('ignores previousId outside alias and drops a blocked previousId', () => {
    expect(extractIdentifiers(ev({ anonymousId: 'a', previousId: 'p' }), rules).aliases).toEqual([]);
    const out = extractIdentifiers({ type: 'alias', messageId: 'm', userId: 'u', previousId: 'anonymous' }, rules);
    expect(out.aliases).toEqual([]);
    expect(out.dropped[0]).toMatchObject({ source: 'previousId', reason: 'blocked' });
  });

  it('refuses ids longer than 512 characters', () => {
    const out = extractIdentifiers(ev({ anonymousId: 'a'.repeat(513), userId: 'u' }), rules);
    expect(out.dropped[0]).toMatchObject({ source: 'anonymousId', reason: 'invalid', detail: 'longer than 512 characters' });
    expect(out.dropped[0]?.value.length).toBeLessThanOrEqual(100);
  });
});
