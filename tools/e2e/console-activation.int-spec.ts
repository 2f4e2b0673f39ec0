// The console's Activation pages and Users page in real headless Chromium, every service on the
// real broker and store: an editor creates a webhook destination (a local receiver that answers
// 500, so the delivery dies after its retries) and a trigger on a segment; a contact enters the
// segment through events sent to the collector; the delivery log shows it dead; the receiver is
// switched to 200, the editor replays it and sees it delivered; the editor writes an experience
// and previews what that contact would see; a second dead delivery is replayed from the Dead
// letters page (activation delivers it again; a second replay is refused); a shop visitor is shown that experience (the
// tracker records the exposure) and their contact page lists it. An admin creates a user on /users. Every page is
// checked with axe-core and photographed (.mosaic/screenshots/console-*.png).
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import type { StartedService } from '@mosaic/shared-service';
import { PIPELINE_WAIT_MS, adminRequest, startTestService, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from '../../apps/activation/src/activation.definition';
import { consoleDefinition } from '../../apps/console/src/console.definition';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { segmentationDefinition } from '../../apps/segmentation/src/segmentation.definition';
import { buildConsoleWeb, checkPage, createUser, signIn, waitOnPage } from './console-harness';
import { newVisitor, open, startStack, waitForEvents, type Stack } from './harness';

jest.setTimeout(240_000);

const USERS = {
  editor: { username: 'ed.activation', password: 'editor-password-1', role: 'editor' },
  admin: { username: 'ann.admin', password: 'admin-password-12', role: 'admin' },
} as const;
const SEGMENT = 'pro-plan';

let stack: Stack;
let webDir: string;
let consoleUrl: string;
let activationUrl: string;
let receiver: Server;
let receiverUrl: string;
/** What the webhook receiver answers: 500 until the test switches it. */
let receiverStatus = 500;
const received: { status: number; body: string }[] = [];
const services: StartedService[] = [];

function startReceiver(): Promise<void> {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ status: receiverStatus, body });
      res.statusCode = receiverStatus;
      res.end();
    });
  });
  return new Promise<void>((resolve) =>
    receiver.listen(0, '127.0.0.1', () => {
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

beforeAll(async () => {
  webDir = buildConsoleWeb();
  await startReceiver();
  stack = await startStack();
  const started = <T extends StartedService>(s: T): T => {
    services.push(s);
    return s;
  };
  const identity = started(await startTestService(identityDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-ca-identity' } }));
  const enrichment = started(await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-ca-enrichment' } }));
  const segmentation = started(
    await startTestService(segmentationDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-ca-segmentation', SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' } }),
  );
  const activation = started(
    await startTestService(activationDefinition, {
      env: {
        MOSAIC_INSTANCE_ID: 'e2e-ca-activation',
        ACTIVATION_COLLECTOR_URL: stack.collectorUrl,
        ACTIVATION_CONFIG_REFRESH_MS: '200',
        // Two quick attempts, then dead: the receiver's 500s kill the delivery within a second.
        ACTIVATION_RETRY_MAX_ATTEMPTS: '2',
        ACTIVATION_RETRY_BASE_MS: '100',
        ACTIVATION_RETRY_MAX_MS: '300',
        ACTIVATION_OUTBOUND_ALLOW: '127.0.0.1/32',
      },
    }),
  );
  const consoleApp = started(
    await startTestService(consoleDefinition, {
      env: {
        CONSOLE_WEB_DIR: webDir,
        CONSOLE_COLLECTOR_URL: stack.collectorUrl,
        // The tracker snippet's default: the collector as browsers reach it (here, the same address).
        COLLECTOR_PUBLIC_URL: stack.collectorUrl,
        CONSOLE_IDENTITY_URL: identity.http.url,
        CONSOLE_ENRICHMENT_URL: enrichment.http.url,
        CONSOLE_SEGMENTATION_URL: segmentation.http.url,
        CONSOLE_ACTIVATION_URL: activation.http.url,
      },
    }),
  );
  consoleUrl = consoleApp.http.url;
  activationUrl = activation.http.url;
  await createUser(consoleUrl, USERS.editor);
  await createUser(consoleUrl, USERS.admin);
  const segment = await adminRequest(segmentation.http.url, 'POST', '/v1/segments', {
    key: SEGMENT,
    name: 'On the pro plan',
    condition: { trait: 'plan', op: 'equals', value: 'pro' },
  });
  expect(segment.status).toBe(201);
}, 240_000);

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  await stack?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

/** An identify call through the collector's HTTP API (as a site's server sends it). */
async function identify(userId: string, traits: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.collectorUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${stack.writeKey}:`).toString('base64')}` },
    body: JSON.stringify({
      batch: [{ type: 'identify', messageId: randomUUID(), userId, traits, timestamp: new Date().toISOString() }],
      sentAt: new Date().toISOString(),
    }),
  });
  expect(res.status).toBe(200);
}

/** The delivery row of the log once it has `status` (the page reloaded until then). */
async function waitForDelivery(page: Page, destinationId: string, status: string): Promise<void> {
  await waitOnPage(
    page,
    `deliveries-${status}`,
    async () => {
      await page.goto(`${consoleUrl}/activation/deliveries?destinationId=${encodeURIComponent(destinationId)}`);
      await page.getByTestId('deliveries-table').waitFor();
      const row = page.locator(`[data-testid="delivery-row"][data-status="${status}"]`);
      return (await row
        .first()
        .waitFor({ timeout: 3_000 })
        .then(() => true)
        .catch(() => false))
        ? true
        : null;
    },
    `a ${status} delivery to ${destinationId} in the delivery log`,
  );
}

let editor: BrowserContext;
let destinationId: string;
let profileId: string;
const email = `pia.${Date.now()}@example.com`;
const experience = {
  id: 'pro-banner',
  slot: 'home-banner',
  name: 'Pro banner',
  rules: [{ id: 'pro-offer', when: { segments: { any: [SEGMENT] } }, content: { html: '<h2>{{ profile.traits.firstName }}, your pro upgrade</h2>' } }],
  default: { html: '<h2>Welcome</h2>' },
};

describe('the console: activation and users', () => {
  it('an editor connects a webhook to a segment, sees the dead delivery, replays it once the receiver works, and sees it delivered', async () => {
    editor = await stack.browser.newContext();
    const page = await signIn(editor, consoleUrl, USERS.editor);
    await page.getByTestId('nav-destinations').click();
    await page.getByTestId('destinations-table').waitFor();
    await page.getByTestId('destination-new').click();
    await page.getByTestId('destination-kind').selectOption('webhook');
    await page.getByTestId('destination-name').fill('CRM hook');
    await page.getByTestId('destination-url').fill(`${receiverUrl}/hook`);
    await page.getByTestId('destination-save').click();
    const row = page.locator('[data-testid="destination-row"]', { hasText: 'CRM hook' });
    await row.waitFor();
    destinationId = (await row.getAttribute('data-destination-id')) as string;
    expect(destinationId).toMatch(/^dst_/);
    // Revealing the signing secret is an admin's: an editor is not offered it.
    expect(await page.getByTestId('destination-secret-reveal').count()).toBe(0);
    await checkPage(page, 'destinations');

    await page.getByTestId('nav-triggers').click();
    await page.getByTestId('trigger-segment').fill(SEGMENT);
    await page.getByTestId('trigger-on').selectOption('entered');
    await page.getByTestId('trigger-destination').selectOption(destinationId);
    await page.getByTestId('trigger-new').click();
    await page.locator('[data-testid="trigger-row"]', { hasText: SEGMENT }).waitFor();
    await checkPage(page, 'triggers');

    await identify(`pia-${Date.now()}`, { email, firstName: 'Pia', plan: 'pro' });
    await waitForDelivery(page, destinationId, 'dead');
    const dead = page.locator('[data-testid="delivery-row"][data-status="dead"]').first();
    profileId = (await dead.getAttribute('data-profile-id')) as string;
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(received.every((r) => r.status === 500)).toBe(true);
    // Its attempts, each answered 500 by the receiver.
    await dead.getByRole('button', { name: /attempts of delivery/ }).click();
    const attempts = page.getByTestId('delivery-attempts').locator('tbody tr');
    await attempts.first().waitFor();
    expect(await attempts.count()).toBe(2);
    expect(await attempts.allInnerTexts()).toEqual([expect.stringContaining('500'), expect.stringContaining('500')]);
    await checkPage(page, 'deliveries');

    receiverStatus = 200;
    await dead.getByTestId('delivery-replay').click();
    await page.getByTestId('deliveries-notice').waitFor();
    await waitForDelivery(page, destinationId, 'delivered');
    expect(received.at(-1)).toEqual({ status: 200, body: expect.stringContaining(profileId) });
  });

  it('a dead delivery replayed from the Dead letters page is delivered again by activation; a second replay is refused', async () => {
    receiverStatus = 500;
    const before = received.length;
    await identify(`max-${Date.now()}`, { email: `max.${Date.now()}@example.com`, firstName: 'Max', plan: 'pro' });
    const dead = await waitFor(
      async () => {
        const r = await adminRequest(activationUrl, 'GET', `/v1/deliveries?destinationId=${encodeURIComponent(destinationId)}&status=dead`);
        return ((r.json['deliveries'] as Record<string, unknown>[]) ?? []).find((d) => d['profileId'] !== profileId) ?? null;
      },
      { timeoutMs: PIPELINE_WAIT_MS, message: "the second contact's dead delivery" },
    );
    const deliveryId = dead['id'] as string;
    expect(received.length).toBeGreaterThan(before);

    const page = await editor.newPage();
    const letter = page.locator('[data-testid="dead-letter-row"][data-service="activation"]', { hasText: `${String(dead['profileId'])}|${SEGMENT}` });
    await page.goto(`${consoleUrl}/activation/dead-letters`);
    await waitOnPage(
      page,
      'dead-letters-activation',
      async () => {
        if ((await letter.count()) > 0) return true;
        await page.getByTestId('dead-letters-refresh').click();
        await page.waitForTimeout(500);
        return null;
      },
      `the dead letter of delivery ${deliveryId}`,
    );
    receiverStatus = 200;
    await letter.getByTestId('dead-letter-replay').click();
    await page.getByTestId('dead-letters-notice').waitFor();
    expect(await page.getByTestId('dead-letters-notice').innerText()).toContain(`activation delivers ${deliveryId} again`);
    await waitFor(async () => (await adminRequest(activationUrl, 'GET', `/v1/deliveries/${deliveryId}`)).json['status'] === 'delivered' || null, {
      timeoutMs: PIPELINE_WAIT_MS,
      message: `delivery ${deliveryId} delivered`,
    });
    expect(received.at(-1)).toEqual({ status: 200, body: expect.stringContaining(String(dead['profileId'])) });
    await letter.getByTestId('dead-letter-replayed').getByText('replayed 1×', { exact: false }).waitFor();
    await letter.getByTestId('dead-letter-replay').click();
    await page.getByTestId('dead-letters-error').waitFor();
    expect(await page.getByTestId('dead-letters-error').innerText()).toContain('not dead');
    await page.close();
  });

  it('the editor writes an experience and previews what that contact would see', async () => {
    const page = await editor.newPage();
    await page.goto(`${consoleUrl}/activation/experiences`);
    await page.getByTestId('experiences-table').waitFor();
    await page.getByTestId('experience-new').click();
    // A mistake first: the service's 400 is shown at the path it names.
    await page.getByTestId('experience-json').fill(JSON.stringify({ ...experience, default: { html: 'x', text: 'y' } }));
    await page.getByTestId('experience-save').click();
    expect(await page.getByTestId('experience-error').innerText()).toContain('default');
    await page.getByTestId('experience-json').fill(JSON.stringify(experience));
    await page.getByTestId('experience-save').click();
    await page.locator('[data-testid="experience-row"][data-experience-id="pro-banner"]').waitFor();

    await page.getByTestId('experience-preview-email').fill(email);
    await waitOnPage(
      page,
      'experience-preview',
      async () => {
        await page.getByTestId('experience-preview-find').click();
        await page.waitForTimeout(500);
        return (await page.getByTestId('experience-preview-profile').inputValue()) === profileId ? true : null;
      },
      `the profile id of ${email} filled in`,
    );
    await page.getByTestId('experience-preview-submit').click();
    const slot = page.locator('[data-testid="experience-preview-result"] [data-testid="experience-preview-slot"][data-slot="home-banner"]');
    await slot.waitFor();
    expect(await slot.getAttribute('data-rule-id')).toBe('pro-offer');
    const frame = slot.locator('iframe');
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect(await frame.getAttribute('srcdoc')).toBe('<h2>Pia, your pro upgrade</h2>');
    await checkPage(page, 'experiences');
    await editor.close();
  });

  it('a shop visitor is shown the experience, and their contact page lists it under "What was done"', async () => {
    // The experience of the test above decides the demo shop's home banner: a visitor outside
    // the pro plan gets its default, and the tracker records what it rendered.
    const shop = await stack.startShop({ activationUrl });
    const visitorEmail = `vic.${Date.now()}@example.com`;
    const visitor = await newVisitor(stack);
    const shopPage = await open(visitor.context, `${shop.url}/login`);
    await shopPage.fill('[name=email]', visitorEmail);
    await shopPage.fill('[name=password]', 'hunter2hunter2');
    await shopPage.click('#login-form button[type=submit]');
    await shopPage.waitForURL(`${shop.url}/`);
    await shopPage.locator('[data-mosaic-slot="home-banner"]', { hasText: 'Welcome' }).waitFor();
    const aid = (await shopPage.evaluate('window.mosaic.user().anonymousId()')) as string;
    // Accepted by the collector (it reached events.raw) as a normal track event.
    const [viewed] = await waitForEvents(
      stack,
      (p) => p.anonymousId === aid && p.type === 'track' && p.event === 'Experience Viewed',
      (ps) => ps.length >= 1,
    );
    expect(viewed?.properties).toEqual({ slot: 'home-banner', experience_id: 'pro-banner', rule_id: null, holdout: false });
    await visitor.context.close();

    const context = await stack.browser.newContext();
    const page = await signIn(context, consoleUrl, USERS.editor);
    const row = page.locator('[data-testid="contact-experience"][data-experience-id="pro-banner"][data-slot="home-banner"]');
    await waitOnPage(
      page,
      'contact-experiences',
      async () => {
        await page.goto(`${consoleUrl}/contacts`);
        await page.getByTestId('search-type').selectOption('email');
        await page.getByTestId('search-value').fill(visitorEmail);
        await page.getByTestId('search-submit').click();
        const shown = await row
          .first()
          .waitFor({ timeout: 5_000 })
          .then(() => true)
          .catch(() => false);
        return shown ? true : null;
      },
      `the contact page of ${visitorEmail} listing the pro-banner experience`,
    );
    expect(await row.first().getAttribute('data-rule-id')).toBe('');
    expect(await page.getByTestId('contact-experiences').innerText()).toMatch(/\bdefault\b/i);
    await checkPage(page, 'contact-experiences');
    await context.close();
  });

  it('an admin creates a user on /users', async () => {
    const context = await stack.browser.newContext();
    const page = await signIn(context, consoleUrl, USERS.admin);
    await page.getByTestId('nav-users').click();
    await page.getByTestId('users-table').waitFor();
    await page.getByTestId('user-new-username').fill('nina.new');
    await page.getByTestId('user-new-password').fill('nina-password-12');
    await page.getByTestId('user-new-role').selectOption('viewer');
    await page.getByTestId('user-create').click();
    const row = page.locator('[data-testid="user-row"][data-username="nina.new"]');
    await row.waitFor();
    expect(await row.innerText()).toContain('viewer');
    await checkPage(page, 'users');
    await context.close();
  });

  it('an admin creates a source, sees its write key once, and gets a tracker snippet carrying it', async () => {
    const context = await stack.browser.newContext();
    const page = await signIn(context, consoleUrl, USERS.admin);
    await page.getByTestId('nav-sources').click();
    await page.getByTestId('sources-table').waitFor();
    await page.getByTestId('source-new-name').fill('console-made site');
    await page.getByTestId('source-create').click();
    const writeKey = (await page.getByTestId('source-created-write-key').innerText()).trim();
    expect(writeKey.length).toBeGreaterThan(10);
    const snippet = await page.getByTestId('tracker-snippet').inputValue();
    expect(snippet).toContain(writeKey);
    // It loads mosaic.js from the collector's public URL (COLLECTOR_PUBLIC_URL, told with the session).
    expect(snippet).toContain(`(window,document,'${stack.collectorUrl}',`);
    // The collector knows the key: it accepts an event sent with it.
    const res = await fetch(`${stack.collectorUrl}/v1/track`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ anonymousId: 'console-made-1', event: 'Snippet Tested' }),
    });
    expect(res.status).toBe(200);
    await checkPage(page, 'sources');
    await context.close();
  });
});
