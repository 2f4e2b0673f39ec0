/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are inspected as loose JSON */
// Email destinations end to end: the collector (signed email tracking) and the activation
// service on the real broker and store, a real SMTP server started here. The email is rendered
// from the profile (HTML-escaped), its links and open pixel go through the collector, a click
// redirects to the original URL, a replayed membership change sends nothing twice, a 550 is
// dead at once and a 451 is retried.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SegmentMembershipChange } from '@mosaic/contracts';
import { ActivationProfilesRepository } from '@mosaic/activation-data-access';
import type { StartedService } from '@mosaic/shared-service';
import { PIPELINE_WAIT_MS, TEST_ADMIN_TOKEN, adminRequest, dropTestDatabase, startTestService, waitFor } from '@mosaic/shared-testing';
// eslint-disable-next-line @nx/enforce-module-boundaries -- this test runs the real collector next to activation (its signed email tracking), like the tools/e2e tests
import { collectorDefinition } from '../../collector/src/collector.definition';
import { activationDefinition } from './activation.definition';
import { entered, profileChange, sendMemberships as sendMembershipsTo, sendProfileChanges } from './activation-test-helpers';

jest.setTimeout(120_000);

let collector: StartedService;
let svc: StartedService;
let smtp: SMTPServer;
let smtpPort: number;
let sourceId: string;

interface Mail {
  from: string;
  to: string[];
  raw: string;
}
const mails: Mail[] = [];
const temporaryFailures = new Map<string, number>(); // recipient -> 451s left

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      const to = address.address;
      if (to.startsWith('reject')) return cb(Object.assign(new Error('5.1.1 no such mailbox'), { responseCode: 550 }));
      const left = temporaryFailures.get(to) ?? 0;
      if (left > 0) {
        temporaryFailures.set(to, left - 1);
        return cb(Object.assign(new Error('4.7.1 greylisted, try again later'), { responseCode: 451 }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  collector = await startTestService(collectorDefinition, { env: { MOSAIC_INSTANCE_ID: 'activation-email-collector' } });
  const res = await fetch(`${collector.http.url}/v1/sources`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'email' }),
  });
  expect(res.status).toBe(201);
  sourceId = ((await res.json()) as { id: string }).id;
  svc = await startTestService(activationDefinition, {
    env: {
      MOSAIC_INSTANCE_ID: 'activation-email-it-1',
      ACTIVATION_DISPATCH_INTERVAL_MS: '50',
      ACTIVATION_RETRY_BASE_MS: '100',
      ACTIVATION_RETRY_MAX_MS: '300',
      ACTIVATION_RETRY_MAX_ATTEMPTS: '3',
      ACTIVATION_CONFIG_REFRESH_MS: '200',
      ACTIVATION_COLLECTOR_URL: collector.http.url,
      ACTIVATION_EMAIL_SOURCE_ID: sourceId,
      ACTIVATION_OUTBOUND_ALLOW: '127.0.0.1/32', // the SMTP server of this test is on loopback
    },
  });
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await collector?.stop();
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

const sendMemberships = (changes: SegmentMembershipChange[]) => sendMembershipsTo(svc.platform, changes);

/** Produces the profile and waits until activation has stored it (templates render from it). */
async function sendProfile(profileId: string, traits: Record<string, unknown>): Promise<void> {
  await sendProfileChanges(svc.platform, [profileChange(profileId, 1, [{ type: 'userId', value: `user-${profileId}` }], traits, { orders: { count: 3 } })]);
  const profiles = new ActivationProfilesRepository(svc.platform.mongo);
  await waitFor(async () => ((await profiles.findById(profileId))?.profile ? true : null), { timeoutMs: PIPELINE_WAIT_MS });
}

async function emailDestination(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api('POST', '/v1/destinations', {
    kind: 'email',
    name,
    smtp: { host: '127.0.0.1', port: smtpPort },
    from: 'Mosaic Shop <news@shop.example.com>',
    subject: 'Welcome, {{ profile.traits.firstName }}!',
    html: '<html><body><p>Hello {{ profile.traits.firstName }}, you have {{ profile.computed.orders.count }} orders.</p><p><a href="https://shop.example.com/sale?x=1&amp;y=2">Sale</a> <a href="http://shop.example.com/help">Help</a> <a href="mailto:help@shop.example.com">Mail us</a></p></body></html>',
    ...extra,
  });
  expect(r.status).toBe(201);
  return r.json['id'];
}

async function trigger(segmentKey: string, destinationId: string): Promise<void> {
  expect((await api('POST', '/v1/triggers', { segmentKey, on: 'entered', destinationId })).status).toBe(201);
}

async function deliveries(destinationId: string): Promise<any[]> {
  return (await api('GET', `/v1/deliveries?destinationId=${destinationId}&limit=100`)).json['deliveries'];
}

/** The deliveries of a destination once there are `count`, each delivered or dead. */
function finished(destinationId: string, count: number): Promise<any[]> {
  return waitFor(
    async () => {
      const l = await deliveries(destinationId);
      return l.length === count && l.every((d) => d.status === 'dead' || d.status === 'delivered') ? l : null;
    },
    { timeoutMs: PIPELINE_WAIT_MS },
  );
}

/** Header value (unfolded) and decoded body of a single-part message. */
function parseMail(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.slice(split + 4);
  const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (encoding === 'quoted-printable') {
    body = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  } else if (encoding === 'base64') {
    body = Buffer.from(body, 'base64').toString('utf8');
  }
  return { headers, body };
}

const to = (address: string) => mails.filter((m) => m.to.includes(address));

it('renders the email from the profile, tracks links and opens through the collector, and sends it once', async () => {
  const dest = await emailDestination('Welcome series');
  await trigger('welcome', dest);
  await sendProfile('e-1', { firstName: '<b>Ada</b>', email: 'ada@example.com' });
  const change = entered('e-1', 'welcome', 1);
  await sendMemberships([change]);
  await waitFor(() => to('ada@example.com').length === 1 || null, { timeoutMs: PIPELINE_WAIT_MS });
  const mail = to('ada@example.com')[0] as Mail;
  expect(mail.to).toEqual(['ada@example.com']);
  expect(mail.from).toBe('news@shop.example.com');
  const { headers, body } = parseMail(mail.raw);
  expect(headers['subject']).toBe('Welcome, <b>Ada</b>!');
  expect(headers['content-type']).toMatch(/^text\/html/);
  expect(body).toContain('Hello &lt;b&gt;Ada&lt;/b&gt;, you have 3 orders.');
  expect(body).not.toContain('<b>Ada</b>');

  const hrefs = [...body.matchAll(/href="([^"]*)"/g)].map((m) => (m[1] as string).replace(/&amp;/g, '&'));
  const web = hrefs.filter((h) => /^https?:/i.test(h));
  expect(web).toHaveLength(2);
  for (const h of web) expect(h.startsWith(`${collector.http.url}/v1/e/c/`)).toBe(true);
  expect(hrefs).toContain('mailto:help@shop.example.com'); // only http(s) links are tracked
  expect(body).not.toContain('https://shop.example.com/sale');
  const pixel = /<img[^>]+src="([^"]+\/v1\/e\/o\/[^"]+\.gif)"/.exec(body)?.[1];
  expect(pixel?.startsWith(`${collector.http.url}/v1/e/o/`)).toBe(true);

  // the rewritten click URL redirects to the original one
  const click = await fetch(web[0] as string, {
    redirect: 'manual',
    headers: { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36' },
  });
  expect(click.status).toBe(302);
  expect(click.headers.get('location')).toBe('https://shop.example.com/sale?x=1&y=2');
  expect((await fetch(pixel as string)).headers.get('content-type')).toBe('image/gif');

  const [delivery] = await waitFor(
    async () => {
      const list = await deliveries(dest);
      return list[0]?.status === 'delivered' ? list : null;
    },
    { timeoutMs: PIPELINE_WAIT_MS },
  );
  expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, profileId: 'e-1', log: [{ outcome: 'delivered', status: '250' }] });
  expect(headers['message-id']).toBe(`<${delivery.id}@shop.example.com>`);

  // a replay of the same membership change sends nothing twice
  await sendMemberships([change]);
  await new Promise((r) => setTimeout(r, 1_500));
  expect(to('ada@example.com')).toHaveLength(1);
  expect(await deliveries(dest)).toHaveLength(1);
});

it('a permanent SMTP rejection (550) is dead after one attempt; a temporary one (451) is retried', async () => {
  const dest = await emailDestination('Rejections');
  await trigger('smtp-errors', dest);
  temporaryFailures.set('later@example.com', 1);
  await sendProfile('e-2', { firstName: 'Grace', email: 'reject@example.com' });
  await sendProfile('e-3', { firstName: 'Linus', email: 'later@example.com' });
  await sendMemberships([entered('e-2', 'smtp-errors', 1), entered('e-3', 'smtp-errors', 1)]);
  const list = await finished(dest, 2);
  const rejected = list.find((d) => d.profileId === 'e-2');
  expect(rejected).toMatchObject({ status: 'dead', attempts: 1, log: [{ outcome: 'fail', status: '550' }] });
  expect(rejected.log[0].error).toMatch(/no such mailbox/);
  const later = list.find((d) => d.profileId === 'e-3');
  expect(later).toMatchObject({ status: 'delivered', attempts: 2 });
  expect(later.log.map((a: any) => `${a.outcome}:${a.status}`)).toEqual(['retry:451', 'delivered:250']);
  expect(to('later@example.com')).toHaveLength(1);
  expect(to('reject@example.com')).toHaveLength(0);
});

it('a recipient that does not render to an address fails at once', async () => {
  const dest = await emailDestination('No address', { to: '{{ profile.traits.nickname }}' });
  await trigger('no-address', dest);
  await sendProfile('e-4', { firstName: 'Alan', nickname: 'alan' });
  await sendMemberships([entered('e-4', 'no-address', 1)]);
  const [d] = await waitFor(
    async () => {
      const l = await deliveries(dest);
      return l[0]?.status === 'dead' ? l : null;
    },
    { timeoutMs: PIPELINE_WAIT_MS },
  );
  expect(d).toMatchObject({ attempts: 1, log: [{ outcome: 'fail', status: 'render' }] });
  expect(d.log[0].error).toMatch(/to: .*not exactly one email address/);
});

it('a first name that would add recipients fails at once: nothing is sent to anyone', async () => {
  const dest = await emailDestination('Named recipient', { to: '{{ profile.traits.firstName }} <{{ profile.traits.email }}>' });
  await trigger('named-to', dest);
  await sendProfile('e-5', { firstName: 'x, victim@evil.com, other@evil.org', email: 'ada5@example.com' });
  await sendProfile('e-6', { firstName: 'Lovelace, Ada', email: 'ada6@example.com' });
  await sendMemberships([entered('e-5', 'named-to', 1), entered('e-6', 'named-to', 1)]);
  const list = await finished(dest, 2);
  const refused = list.find((d) => d.profileId === 'e-5');
  expect(refused).toMatchObject({ status: 'dead', attempts: 1, log: [{ outcome: 'fail', status: 'render' }] });
  expect(refused.log[0].error).toMatch(/^to: rendered "x, victim@evil\.com, other@evil\.org <ada5@example\.com>", which is not exactly one email address/);
  expect(list.find((d) => d.profileId === 'e-6')).toMatchObject({ status: 'delivered' });
  expect(to('ada6@example.com').map((m) => m.to)).toEqual([['ada6@example.com']]);
  expect(parseMail((to('ada6@example.com')[0] as Mail).raw).headers['to']).toBe('"Lovelace, Ada" <ada6@example.com>');
  expect(mails.filter((m) => m.to.some((r) => /evil|ada5/.test(r)))).toEqual([]);
});
