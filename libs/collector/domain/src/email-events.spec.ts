import { Schemas, validatePayload } from '@mosaic/contracts';
import { buildEmailEvent, emailAnonymousId, emailEventMessageId, type EmailEventInput } from './email-events';
import type { EmailTokenClaims } from './email-token';

const claims: EmailTokenClaims = {
  kind: 'open',
  sourceId: 'src_1',
  recipient: { userId: 'u-1', email: 'ada@example.com' },
  campaign: 'spring',
  emailId: 'send-1',
  issuedAt: 1_700_000_000,
  expiresAt: 1_800_000_000,
};
const T = new Date('2026-01-01T10:02:00.000Z');
const input = (over: Partial<EmailEventInput> = {}): EmailEventInput => ({
  claims,
  token: 'tok',
  verdict: { machine: false, reason: null, proxy: null },
  receivedAt: T,
  request: { ip: '203.0.113.9', userAgent: 'UA' },
  ...over,
});

describe('buildEmailEvent', () => {
  it('builds Email Opened with identity in userId and context.traits.email, valid for events.raw', () => {
    const e = buildEmailEvent(input());
    expect(e).toMatchObject({
      type: 'track',
      event: 'Email Opened',
      userId: 'u-1',
      sourceId: 'src_1',
      properties: { campaign: 'spring', email_id: 'send-1', machine: false, machine_reason: null },
      context: { traits: { email: 'ada@example.com' }, ip: '203.0.113.9', userAgent: 'UA' },
      timestamp: T.toISOString(),
    });
    expect(e.anonymousId).toBeUndefined();
    expect(() => validatePayload(Schemas.rawEvent, e)).not.toThrow();
  });

  it('builds Email Link Clicked with the url and the machine verdict', () => {
    const e = buildEmailEvent(
      input({ claims: { ...claims, kind: 'click', url: 'https://x.example/' }, verdict: { machine: true, reason: 'scanner_user_agent', proxy: null } }),
    );
    expect(e.event).toBe('Email Link Clicked');
    expect(e.properties).toEqual({ campaign: 'spring', email_id: 'send-1', url: 'https://x.example/', machine: true, machine_reason: 'scanner_user_agent' });
    expect(e.messageId).toMatch(/^ec-[0-9a-f]{32}$/);
  });

  it('derives a stable anonymousId for recipients known only by email', () => {
    const e = buildEmailEvent(input({ claims: { ...claims, recipient: { email: 'ada@example.com' } } }));
    expect(e.anonymousId).toBe(emailAnonymousId('ada@example.com'));
    expect(e.anonymousId).toMatch(/^eml-[0-9a-f]{32}$/);
    expect(e.userId).toBeUndefined();
    expect(() => validatePayload(Schemas.rawEvent, e)).not.toThrow();
    const anon = buildEmailEvent(input({ claims: { ...claims, recipient: { anonymousId: 'a-1' } } }));
    expect(anon.anonymousId).toBe('a-1');
    expect(anon.context['traits']).toBeUndefined();
  });
});

describe('emailEventMessageId', () => {
  it('is the same within a bucket and differs across buckets, kinds, tokens and machine flags', () => {
    const t = Date.parse('2026-01-01T10:00:00Z');
    const a = emailEventMessageId('open', 'tok', t, false);
    expect(a).toMatch(/^eo-[0-9a-f]{32}$/);
    expect(emailEventMessageId('open', 'tok', t + 4 * 60_000 + 59_000, false)).toBe(a);
    expect(emailEventMessageId('open', 'tok', t + 5 * 60_000, false)).not.toBe(a);
    expect(emailEventMessageId('open', 'tok', t, true)).not.toBe(a);
    expect(emailEventMessageId('open', 'tok2', t, false)).not.toBe(a);
    const c = emailEventMessageId('click', 'tok', t, false);
    expect(emailEventMessageId('click', 'tok', t + 59_000, false)).toBe(c);
    expect(emailEventMessageId('click', 'tok', t + 60_000, false)).not.toBe(c);
  });
});
