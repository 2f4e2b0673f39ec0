import { OutboundAllowList } from './address-policy';
import { isForbiddenHeader, isKafkaTopic, isMailbox, parseMailbox, reservedTopicProblem, validateDestination, webhookUrlProblem } from './destinations';
import { generateSecret } from './webhooks';

const SECRET = generateSecret(new Uint8Array(24).fill(1));
const WEBHOOK = { kind: 'webhook', id: 'crm', name: 'CRM', url: 'https://hooks.example.com/mosaic?x=1' };
const EMAIL = {
  kind: 'email',
  id: 'mail',
  name: 'Welcome mail',
  smtp: { host: 'smtp.example.com', port: 587 },
  from: 'Shop <shop@example.com>',
  subject: 'Hi {{ profile.traits.firstName | default: "there" }}',
  html: '<p>Hello</p>',
};
const KAFKA = { kind: 'kafka', id: 'k', name: 'Stream', topic: 'crm.segment-changes_v1' };

function paths(input: unknown): string[] {
  const r = validateDestination(input);
  if (r.ok) throw new Error('expected the destination to be invalid');
  return r.errors.map((e) => e.path);
}

describe('validateDestination: common fields', () => {
  it.each([
    [null, '$'],
    [[], '$'],
    [{ id: 'x', name: 'n' }, 'kind'],
    [{ ...KAFKA, kind: 'sms' }, 'kind'],
    [{ ...KAFKA, id: undefined }, 'id'],
    [{ ...KAFKA, id: 'no spaces' }, 'id'],
    [{ ...KAFKA, name: undefined }, 'name'],
    [{ ...KAFKA, name: '' }, 'name'],
    [{ ...KAFKA, enabled: 'yes' }, 'enabled'],
    [{ ...KAFKA, url: 'https://x' }, 'url'],
  ])('rejects %p at %s', (input, path) => {
    expect(paths(input)).toEqual([path]);
  });

  it('keeps enabled: false', () => {
    const r = validateDestination({ ...KAFKA, enabled: false });
    expect(r.ok && r.value.enabled).toBe(false);
  });
});

describe('validateDestination: webhook', () => {
  it('applies the defaults and returns a copy', () => {
    const r = validateDestination(WEBHOOK);
    expect(r).toEqual({ ok: true, value: { ...WEBHOOK, enabled: true, concurrency: 4, timeoutMs: 10_000 } });
    expect(WEBHOOK).not.toHaveProperty('enabled');
  });

  it('accepts every field', () => {
    const input = {
      ...WEBHOOK,
      url: 'http://crm.internal.example:8080/h',
      secret: SECRET,
      headers: { Authorization: 'Bearer x', 'X-Team': 'growth' },
      rateLimitPerSecond: 2.5,
      concurrency: 32,
      timeoutMs: 30_000,
      enabled: true,
    };
    expect(validateDestination(input)).toEqual({ ok: true, value: input });
  });

  it.each([
    [{ url: 'ftp://example.com/x' }, 'url', /http or https/],
    [{ url: 'javascript:alert(1)' }, 'url', /http or https/],
    [{ url: '/relative' }, 'url', /absolute/],
    [{ url: 'https://user:pw@example.com/' }, 'url', /credentials/],
    [{ url: 'https://user@example.com/' }, 'url', /credentials/],
    [{ url: 'https://@example.com/' }, 'url', /credentials/],
    [{ url: `https://example.com/${'a'.repeat(2048)}` }, 'url', /2048/],
    [{ url: undefined }, 'url', /required/],
    [{ secret: 'hunter2' }, 'secret', /whsec_/],
    [{ secret: 'whsec_AAAA' }, 'secret', /24 to 64 bytes/],
    [{ headers: ['a'] }, 'headers', /object/],
    [{ headers: { 'Bad Name': 'x' } }, 'headers.Bad Name', /header name/],
    [{ headers: { Connection: 'close' } }, 'headers.Connection', /cannot be set/],
    [{ headers: { 'Transfer-Encoding': 'chunked' } }, 'headers.Transfer-Encoding', /cannot be set/],
    [{ headers: { 'Webhook-Signature': 'v1,x' } }, 'headers.Webhook-Signature', /webhook-\*/],
    [{ headers: { host: 'evil' } }, 'headers.host', /cannot be set/],
    [{ headers: { 'X-A': 'line\r\nInjected: 1' } }, 'headers.X-A', /one line/],
    [{ headers: { 'X-A': 1 } }, 'headers.X-A', /string/],
    [{ headers: { 'X-A': 'a', 'x-a': 'b' } }, 'headers.x-a', /duplicate/],
    [{ rateLimitPerSecond: 0 }, 'rateLimitPerSecond', /greater than 0/],
    [{ concurrency: 0 }, 'concurrency', /at least 1/],
    [{ concurrency: 33 }, 'concurrency', /at most 32/],
    [{ concurrency: 2.5 }, 'concurrency', /integer/],
    [{ timeoutMs: 50 }, 'timeoutMs', /at least 100/],
    [{ smtp: {} }, 'smtp', /unknown field/],
  ])('rejects %p at %s', (change, path, message) => {
    const r = validateDestination({ ...WEBHOOK, ...change });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  it('allows at most 20 headers', () => {
    const headers = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']));
    expect(paths({ ...WEBHOOK, headers })).toEqual(['headers']);
    delete headers['X-H0'];
    expect(validateDestination({ ...WEBHOOK, headers }).ok).toBe(true);
  });
});

describe('validateDestination: email', () => {
  it('defaults the recipient to the profile email', () => {
    const r = validateDestination(EMAIL);
    expect(r).toEqual({ ok: true, value: { ...EMAIL, enabled: true, to: '{{ profile.traits.email }}' } });
  });

  it('accepts full SMTP settings and a custom recipient', () => {
    const input = {
      ...EMAIL,
      smtp: { host: 'mail.example.com', port: 465, secure: true, user: 'u', password: 'p' },
      to: '{{ profile.traits.workEmail }}',
      from: 'shop@example.com',
    };
    expect(validateDestination(input)).toEqual({ ok: true, value: { ...input, enabled: true } });
  });

  it.each([
    [{ smtp: undefined }, 'smtp'],
    [{ smtp: 'smtp://x' }, 'smtp'],
    [{ smtp: { port: 25 } }, 'smtp.host'],
    [{ smtp: { host: 'a b', port: 25 } }, 'smtp.host'],
    [{ smtp: { host: 'x', port: 0 } }, 'smtp.port'],
    [{ smtp: { host: 'x', port: 70_000 } }, 'smtp.port'],
    [{ smtp: { host: 'x', port: 25, secure: 'yes' } }, 'smtp.secure'],
    [{ smtp: { host: 'x', port: 25, password: 'p' } }, 'smtp.user'],
    [{ smtp: { host: 'x', port: 25, tls: true } }, 'smtp.tls'],
    [{ from: 'not an address' }, 'from'],
    [{ from: 'a@b.c\r\nBcc: victim@x.y' }, 'from'],
    [{ subject: 'Hi {{ name | nosuchfilter }}' }, 'subject'],
    [{ subject: 'Hi {% if x %}' }, 'subject'],
    [{ subject: 'two\nlines' }, 'subject'],
    [{ subject: undefined }, 'subject'],
    [{ html: '{% include "header" ' }, 'html'],
    [{ html: 'x'.repeat(64 * 1024 + 1) }, 'html'],
    [{ to: '{{ profile.traits.email ' }, 'to'],
  ])('rejects %p at %s', (change, path) => {
    expect(paths({ ...EMAIL, ...change })).toEqual([path]);
  });

  it('explains template errors', () => {
    const r = validateDestination({ ...EMAIL, subject: '{{ a | nosuchfilter }}' });
    expect(!r.ok && r.errors[0].message).toMatch(/not a valid Liquid template: .*nosuchfilter/);
  });
});

describe('validateDestination: kafka', () => {
  it('accepts a valid topic', () => {
    expect(validateDestination(KAFKA)).toEqual({ ok: true, value: { ...KAFKA, enabled: true } });
  });

  it.each([['has space'], ['.'], ['..'], ['a/b'], ['x'.repeat(250)], ['']])('rejects the topic %p', (topic) => {
    expect(paths({ ...KAFKA, topic })).toEqual(['topic']);
  });
});

describe('validateDestination: outbound addresses', () => {
  const errors = (input: unknown, outboundAllow?: OutboundAllowList) => {
    const r = validateDestination(input, { outboundAllow });
    return r.ok ? [] : r.errors;
  };

  it.each([
    'http://127.0.0.1:8081/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/',
    'http://0x7f.1/',
    'http://2130706433/',
    'http://metadata.google.internal/computeMetadata/v1',
    'https://10.0.0.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fd00:ec2::254]/',
  ])('refuses the webhook url %s', (url) => {
    expect(errors({ ...WEBHOOK, url })).toEqual([
      {
        path: 'url',
        message: expect.stringMatching(
          /^host points to .* \((loopback|cloud metadata|private|loopback \(IPv4 127\.0\.0\.1 inside IPv6\))\); outbound calls go only to public addresses/,
        ),
      },
    ]);
  });

  it.each(['127.0.0.1', '0x7f.1', '2130706433', '[::1]', '169.254.169.254', 'metadata', 'instance-data', '192.168.0.10'])(
    'refuses the SMTP host %s',
    (host) => {
      expect(errors({ ...EMAIL, smtp: { host, port: 25 } })).toEqual([
        { path: 'smtp.host', message: expect.stringMatching(/^points to .*; outbound calls go only to public addresses/) },
      ]);
    },
  );

  it('accepts host names (checked when resolved) and what the operator allow-listed', () => {
    expect(errors({ ...WEBHOOK, url: 'http://localhost:8081/' })).toEqual([]);
    expect(errors({ ...EMAIL, smtp: { host: 'mail.internal', port: 25 } })).toEqual([]);
    const allow = OutboundAllowList.parse('127.0.0.1/32,::1,metadata');
    if (!allow.ok) throw new Error('bad list');
    expect(errors({ ...WEBHOOK, url: 'http://127.0.0.1:8081/' }, allow.value)).toEqual([]);
    expect(errors({ ...WEBHOOK, url: 'http://0x7f.1:8081/' }, allow.value)).toEqual([]);
    expect(errors({ ...WEBHOOK, url: 'http://[::1]:8081/' }, allow.value)).toEqual([]);
    expect(errors({ ...EMAIL, smtp: { host: 'metadata', port: 25 } }, allow.value)).toEqual([]);
    expect(errors({ ...WEBHOOK, url: 'http://169.254.169.254/' }, allow.value)).toHaveLength(1);
  });
});

describe('helpers', () => {
  it('webhookUrlProblem', () => {
    expect(webhookUrlProblem('https://example.com')).toBeUndefined();
    expect(webhookUrlProblem('HTTP://EXAMPLE.COM/a@b')).toBeUndefined();
    expect(webhookUrlProblem('https://a:b@example.com')).toMatch(/credentials/);
    expect(webhookUrlProblem('file:///etc/passwd')).toMatch(/http or https/);
  });

  it('isForbiddenHeader', () => {
    expect(['Keep-Alive', 'TE', 'upgrade', 'webhook-id', 'Content-Length'].every(isForbiddenHeader)).toBe(true);
    expect(['Authorization', 'X-Webhook-Source', 'Content-Type'].some(isForbiddenHeader)).toBe(false);
  });

  it('isKafkaTopic and isMailbox', () => {
    expect(isKafkaTopic('a.b_c-D9')).toBe(true);
    expect(isKafkaTopic('a:b')).toBe(false);
    expect(isMailbox('"Shop" <shop@example.com>')).toBe(true);
    expect(isMailbox('shop@localhost')).toBe(true);
    expect(isMailbox('<>')).toBe(false);
    expect(isMailbox('a@b@c')).toBe(false);
  });

  it('parseMailbox reads exactly one mailbox, as nodemailer would', () => {
    expect(parseMailbox('Ada Lovelace <ada@example.com>')).toEqual({ name: 'Ada Lovelace', address: 'ada@example.com' });
    expect(parseMailbox(' ada@example.com ')).toEqual({ name: '', address: 'ada@example.com' });
    expect(parseMailbox('"Lovelace, Ada" <ada@example.com>')).toEqual({ name: 'Lovelace, Ada', address: 'ada@example.com' });
    expect(parseMailbox('Lovelace, Ada <ada@example.com>')).toEqual({ name: 'Lovelace, Ada', address: 'ada@example.com' });
    for (const several of [
      'x, victim@evil.com, other@evil.org <ada@example.com>',
      'a@b.c; d@e.f',
      'team: a@b.c, d@e.f;',
      'x <victim@evil.com> <ada@example.com>',
    ])
      expect(parseMailbox(several)).toBeUndefined();
    for (const none of ['', 'Ada Lovelace', '<>', 'Ada <a@b@c>', 'Ada\r\n <ada@example.com>']) expect(parseMailbox(none)).toBeUndefined();
  });

  it("reservedTopicProblem names the deployment's own topics and Kafka's internal ones", () => {
    const own = ['acme.segments.membership', 'acme.sources', 'acme.dlq.activation'];
    expect(reservedTopicProblem('acme.segments.membership', own)).toBe(
      "acme.segments.membership is one of this deployment's own topics: acme.segments.membership; a destination cannot write to Mosaic's topics",
    );
    expect(reservedTopicProblem('acme_sources', own)).toMatch(/^acme_sources is one of this deployment's own topics: acme\.sources \(Kafka treats/);
    expect(reservedTopicProblem('__consumer_offsets', own)).toMatch(/Kafka's internal topics/);
    for (const free of ['acme.crm-team', 'mosaic.segments.membership', 'acme.segments.membership2']) expect(reservedTopicProblem(free, own)).toBeUndefined();
  });
});
