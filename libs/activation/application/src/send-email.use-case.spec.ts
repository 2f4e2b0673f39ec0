import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import {
  EmailRenderError,
  headerLine,
  MAX_EMAIL_HTML_BYTES,
  membershipPayload,
  messageIdFor,
  OutboundAllowList,
  RENDER_LIMITS,
  renderEmail,
  templateContext,
  type EmailDestination,
} from '@mosaic/activation-domain';
import type { SegmentMembershipChange } from '@mosaic/contracts';
import { classifySmtpError, OutboundGuard, type DeliveryDocument } from '@mosaic/activation-data-access';
import { SendEmail } from './send-email.use-case';

const loopbackAllowed = OutboundAllowList.parse('127.0.0.1/32');

const change: SegmentMembershipChange = {
  profileId: 'p-1',
  segmentKey: 'vip',
  segmentVersion: 2,
  change: 'entered',
  at: '2026-12-02T10:00:00.000Z',
  reason: { kind: 'message', messageId: 'm-1' },
  identifiers: { userId: 'ada', email: 'ada@example.com' },
  profileVersion: 7,
};
const profile = { traits: { firstName: '<b>Ada</b>', email: 'ada@example.com', plan: 'pro\r\nBcc: x@evil.example' }, computed: { orders: { count: 3 } } };
const ctx = templateContext(change, profile);

describe('headerLine / messageIdFor', () => {
  it('puts a header value on one line', () => {
    expect(headerLine(' Hi\r\n  there\nyou \r')).toBe('Hi there you');
  });
  it('derives a stable Message-ID from the delivery id and the sender domain', () => {
    expect(messageIdFor('dlv_abc-_1', 'Shop <news@shop.example.com>')).toBe('<dlv_abc-_1@shop.example.com>');
    expect(messageIdFor('dlv_abc', 'news@shop.example.com')).toBe(messageIdFor('dlv_abc', 'news@shop.example.com'));
  });
});

describe('renderEmail', () => {
  const dest = {
    subject: 'Hello {{ profile.traits.firstName }} ({{ profile.traits.plan }})',
    html: '<p>Hi {{ profile.traits.firstName }}, {{ profile.computed.orders.count }} orders</p>',
    to: '{{ profile.traits.firstName | strip_html }} <{{ profile.traits.email }}>',
  };

  it('escapes the HTML body, not the subject, and keeps headers on one line', () => {
    const e = renderEmail(dest, ctx);
    expect(e.html).toBe('<p>Hi &lt;b&gt;Ada&lt;/b&gt;, 3 orders</p>');
    expect(e.subject).toBe('Hello <b>Ada</b> (pro Bcc: x@evil.example)');
    expect(e.subject).not.toMatch(/[\r\n]/);
    expect(e.to).toEqual({ name: 'Ada', address: 'ada@example.com' });
  });

  it('refuses a recipient that is empty or not an address, and a template that fails', () => {
    expect(() => renderEmail({ ...dest, to: '{{ profile.traits.missing }}' }, ctx)).toThrow(EmailRenderError);
    expect(() => renderEmail({ ...dest, to: '{{ profile.traits.firstName }}' }, ctx)).toThrow(/not exactly one email address/);
    expect(() => renderEmail({ ...dest, html: '{{ 1 | nope }}' }, ctx)).toThrow(/^html: /);
  });

  it('refuses a display name that adds recipients (a visitor sets it through the public write key)', () => {
    const named = { ...dest, to: '{{ profile.traits.firstName }} <{{ profile.traits.email }}>' };
    for (const firstName of ['x, victim@evil.com, other@evil.org', 'x <victim@evil.com>', 'x; victim@evil.com;', 'friends: victim@evil.com;']) {
      const visitor = templateContext(change, { traits: { firstName, email: 'ada@example.com' }, computed: {} });
      expect(() => renderEmail(named, visitor)).toThrow(/^to: rendered .*, which is not exactly one email address$/);
    }
    const quoted = templateContext(change, { traits: { firstName: 'Lovelace, Ada', email: 'ada@example.com' }, computed: {} });
    expect(renderEmail({ ...dest, to: '"{{ profile.traits.firstName }}" <{{ profile.traits.email }}>' }, quoted).to).toEqual({
      name: 'Lovelace, Ada',
      address: 'ada@example.com',
    });
  });

  it('renders subject, body and recipient from one budget of render steps', () => {
    const half = `{% for i in (1..${RENDER_LIMITS.steps / 2}) %}{% endfor %}`;
    expect(() => renderEmail({ ...dest, subject: `${half}Hi`, html: `${half}<p>Hi</p>` }, ctx)).toThrow(/^html: render steps limit exceeded/);
    expect(renderEmail({ ...dest, subject: `${half}Hi` }, ctx).subject).toBe('Hi');
  });

  it("refuses an HTML body larger than the collector's link tracking takes, counted as JSON", () => {
    // a quote is 2 bytes in JSON, and the string's own quotes are 2 more
    const quotes = (MAX_EMAIL_HTML_BYTES - 2) / 2;
    const html = (n: number) => `{% for i in (1..${Math.floor(n / 1000)}) %}${'"'.repeat(1000)}{% endfor %}${'"'.repeat(n % 1000)}`;
    expect(renderEmail({ ...dest, html: html(quotes) }, ctx).html).toHaveLength(quotes);
    expect(() => renderEmail({ ...dest, html: html(quotes + 1) }, ctx)).toThrow(/^html: rendered \d+ bytes \(as JSON\); .* at most 491520 bytes/);
  });
});

describe('classifySmtpError', () => {
  it('maps SMTP replies and connection problems to outcomes', () => {
    expect(classifySmtpError({ responseCode: 550, response: '550 no such user', code: 'EENVELOPE' })).toEqual({
      outcome: 'fail',
      status: '550',
      error: '550 no such user',
    });
    expect(classifySmtpError({ responseCode: 451, response: '451 try later', code: 'EENVELOPE' })).toMatchObject({ outcome: 'retry', status: '451' });
    expect(classifySmtpError({ responseCode: 503, response: '503 bad sequence' })).toMatchObject({ outcome: 'retry', status: '503' });
    expect(classifySmtpError({ responseCode: 535, code: 'EAUTH', message: 'Invalid login' })).toMatchObject({ outcome: 'fail', status: '535' });
    expect(classifySmtpError({ code: 'ETIMEDOUT', message: 'Greeting never received' })).toMatchObject({ outcome: 'retry', status: 'timeout' });
    expect(classifySmtpError({ code: 'ESOCKET', message: 'connect ECONNREFUSED 127.0.0.1:1' })).toMatchObject({ outcome: 'retry', status: 'network' });
    expect(classifySmtpError({ code: 'EAUTH', message: 'no AUTH offered' })).toMatchObject({ outcome: 'fail', status: 'error' });
    expect(classifySmtpError(new Error('boom'))).toMatchObject({ outcome: 'retry', status: 'network', error: 'boom' });
  });
});

describe('SendEmail over SMTP (no link tracking configured)', () => {
  let server: SMTPServer;
  let port: number;
  const mails: { from: string; to: string[]; raw: string }[] = [];
  let reply: { code: number; text: string } | undefined;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(_address, _session, cb) {
        if (!reply) return cb();
        const err = Object.assign(new Error(reply.text), { responseCode: reply.code });
        cb(err);
      },
      onData(stream, session, cb) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
          cb();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const dest = (): EmailDestination => ({
    id: 'dst_1',
    kind: 'email',
    name: 'Welcome',
    enabled: true,
    smtp: { host: '127.0.0.1', port },
    from: 'Shop <news@shop.example.com>',
    subject: 'Hi {{ profile.traits.firstName }}',
    html: '<p>{{ profile.traits.firstName }}</p>',
    to: '{{ profile.traits.email }}',
  });
  const delivery = { _id: 'dlv_test1', membership: JSON.stringify(change) } as DeliveryDocument;
  const payload = membershipPayload(change, { id: 'dlv_test1', profile });

  it('sends, logs once that tracking is off, and maps 550 to fail and 451 to retry', async () => {
    const warn = jest.fn();
    if (!loopbackAllowed.ok) throw new Error('bad allow-list');
    const sender = new SendEmail({ logger: { info: jest.fn(), warn }, timeoutMs: 2_000, outbound: new OutboundGuard(loopbackAllowed.value) });
    try {
      expect(await sender.send(dest(), delivery, payload)).toEqual({ outcome: 'delivered', status: '250' });
      expect(mails).toHaveLength(1);
      expect(mails[0]?.to).toEqual(['ada@example.com']);
      expect(mails[0]?.raw).toMatch(/^Message-ID: <dlv_test1@shop\.example\.com>\r?$/m);
      expect(mails[0]?.raw).toMatch(/&lt;b&gt;Ada&lt;\/b&gt;/);
      reply = { code: 550, text: 'no such user' };
      expect(await sender.send(dest(), delivery, payload)).toMatchObject({ outcome: 'fail', status: '550' });
      reply = { code: 451, text: 'try again later' };
      expect(await sender.send(dest(), delivery, payload)).toMatchObject({ outcome: 'retry', status: '451' });
      reply = undefined;
      expect(await sender.send({ ...dest(), to: 'nobody' }, delivery, payload)).toMatchObject({ outcome: 'fail', status: 'render' });
      // one mailbox whose name, parsed again, would be a different address (ops): sent as {name, address}
      const named = { ...dest(), to: '"Lovelace, Ada <ops>" <{{ profile.traits.email }}>' };
      expect(await sender.send(named, delivery, payload)).toEqual({ outcome: 'delivered', status: '250' });
      expect(mails[1]?.to).toEqual(['ada@example.com']);
      expect(mails[1]?.raw).toMatch(/^To: "Lovelace, Ada <ops>" <ada@example\.com>\r?$/m);
      expect(await sender.send({ ...dest(), smtp: { host: '127.0.0.1', port: 1 } }, delivery, payload)).toMatchObject({ outcome: 'retry', status: 'network' });
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      await sender.close();
    }
  });

  it('refuses an SMTP server on a non-public address unless allow-listed: a permanent failure, nothing sent', async () => {
    const sender = new SendEmail({ timeoutMs: 2_000 });
    try {
      const before = mails.length;
      const literal = await sender.send(dest(), delivery, payload);
      expect(literal).toMatchObject({ outcome: 'fail', status: 'blocked', error: expect.stringMatching(/127\.0\.0\.1 .*\(loopback\)/) });
      const named = await sender.send({ ...dest(), id: 'dst_2', smtp: { host: 'localhost', port } }, delivery, payload);
      expect(named).toMatchObject({
        outcome: 'fail',
        status: 'blocked',
        error: expect.stringMatching(/^localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/),
      });
      expect(mails.length).toBe(before);
    } finally {
      await sender.close();
    }
  });
});
