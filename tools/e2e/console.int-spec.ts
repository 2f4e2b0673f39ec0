// The console's three stories in real headless Chromium, every service on the real broker and
// store: a visitor browses the demo shop anonymously and logs in, and an editor finds them by
// email and sees one timeline holding the anonymous page views; the editor builds "viewed coffee
// machines twice in 7 days" in the builder, sees the preview count, saves it, and the contact
// page then shows the segment; a viewer's attempt to change anything is refused by the server.
// Every page is checked with axe-core (no serious or critical violation) and photographed into
// .mosaic/screenshots/.
import { rmSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import type { StartedService } from '@mosaic/shared-service';
import { waitFor } from '@mosaic/shared-testing';
import { buildConsoleWeb, startConsoleServices, checkPage, createUser, signIn as signInAt, waitOnPage } from './console-harness';
import { goto, newVisitor, open, startStack, type Stack } from './harness';

jest.setTimeout(240_000);

const USERS = {
  editor: { username: 'eddie.editor', password: 'editor-password-1', role: 'editor' },
  viewer: { username: 'vera.viewer', password: 'viewer-password-1', role: 'viewer' },
} as const;

let stack: Stack;
let webDir: string;
let consoleUrl: string;
const services: StartedService[] = [];

beforeAll(async () => {
  webDir = buildConsoleWeb();
  stack = await startStack();
  const started = await startConsoleServices({
    collectorUrl: stack.collectorUrl,
    webDir,
    instancePrefix: 'e2e-c',
    started: services,
    // Sizes sampled every second, so the segment page's size chart has points within the test.
    segmentationEnv: { SEGMENTATION_SIZE_HISTORY_INTERVAL_MS: '1000' },
  });
  consoleUrl = started.console.http.url;
  await createUser(consoleUrl, USERS.editor);
  await createUser(consoleUrl, USERS.viewer);
}, 240_000);

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  await stack?.stop();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

function signIn(context: BrowserContext, user: { username: string; password: string }): Promise<Page> {
  return signInAt(context, consoleUrl, user);
}

/** Browses two coffee machines anonymously, then logs in; answers the email it logged in with. */
async function anonymousVisitThenLogin(): Promise<string> {
  const email = `ada.${Date.now()}@example.com`;
  const { context } = await newVisitor(stack);
  const page = await open(context, `${stack.shop.url}/`);
  await goto(page, `${stack.shop.url}/category/coffee-machines`);
  await goto(page, `${stack.shop.url}/product/CM-900`);
  await goto(page, `${stack.shop.url}/product/CM-1690`);
  await goto(page, `${stack.shop.url}/login`);
  await page.fill('[name=email]', email);
  await page.fill('[name=password]', 'hunter2hunter2');
  await page.click('#login-form button[type=submit]');
  await page.waitForURL(`${stack.shop.url}/`);
  await page.waitForFunction('window.mosaic && window.mosaic.VERSION');
  await page.waitForTimeout(500); // the tracker's queue flushes every 100 ms here
  await context.close();
  return email;
}

async function openContactByEmail(page: Page, email: string): Promise<void> {
  await page.getByTestId('nav-contacts').click();
  await page.getByTestId('search-type').selectOption('email');
  await page.getByTestId('search-value').fill(email);
  await page.getByTestId('search-submit').click();
  await page.getByTestId('contact-page').waitFor({ timeout: 5_000 });
}

let email: string;
let editor: BrowserContext;

describe('the console', () => {
  it('an editor finds a visitor by email and sees one timeline holding the anonymous page views before the login', async () => {
    email = await anonymousVisitThenLogin();
    editor = await stack.browser.newContext();
    const page = await signIn(editor, USERS.editor);
    // The live view counted the visitor above (events.raw as it arrived at this console).
    await page.goto(`${consoleUrl}/live`);
    await waitOnPage(
      page,
      'live',
      async () => {
        const shown = await page
          .getByTestId('live-active-visitors')
          .innerText()
          .catch(() => '');
        return Number(shown.replace(/\D/g, '')) >= 1 ? true : null;
      },
      'the live page with at least one active visitor',
    );
    await page.getByTestId('live-dead-letters').waitFor();
    await checkPage(page, 'live');
    await waitOnPage(
      page,
      'contact',
      async () => {
        await page.goto(`${consoleUrl}/contacts`);
        await openContactByEmail(page, email).catch(() => undefined);
        if (!(await page.getByTestId('contact-page').isVisible())) return null;
        // The timeline loads after the page: wait for its rows before counting them.
        await page
          .getByTestId('timeline-row')
          .first()
          .waitFor({ timeout: 10_000 })
          .catch(() => undefined);
        const anonymousPages = page.locator('[data-testid="timeline-row"][data-anonymous="true"][data-kind="page"]');
        return (await anonymousPages.count()) >= 4 ? true : null;
      },
      'the contact page with four anonymous page views',
    );
    expect(await page.getByTestId('contact-identifiers').innerText()).toContain(email);
    await page.getByTestId('timeline-chart').waitFor();
    // The login's own events belong to the known person.
    expect(await page.locator('[data-testid="timeline-row"][data-anonymous="false"]').count()).toBeGreaterThan(0);
    await checkPage(page, 'contact');
  });

  it('the editor builds "viewed coffee machines twice in 7 days", sees the preview count, saves it, and the contact shows the segment', async () => {
    const page = await editor.newPage();
    await page.goto(`${consoleUrl}/segments`);
    await page.getByTestId('segments-table').waitFor();
    await checkPage(page, 'segments');
    await page.getByTestId('segment-new').click();
    const key = `coffee-twice-7d-${Date.now()}`;
    await page.getByTestId('segment-key').fill(key);
    await page.getByTestId('segment-name').fill('Viewed coffee machines twice in 7 days');
    await page.getByTestId('builder-add-event-condition').click();
    await page.getByTestId('event-name').fill('Product Viewed');
    await page.getByTestId('event-property-path').fill('category');
    await page.getByTestId('event-property-op').selectOption('equals');
    await page.getByTestId('event-property-value').fill('Coffee machines');
    await page.getByTestId('event-count-op').selectOption('gte');
    await page.getByTestId('event-count-value').fill('2');
    await page.getByTestId('event-within-days').fill('7');
    await waitFor(async () => (Number(await page.getByTestId('preview-count').innerText()) >= 1 ? true : null), {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: 'a preview count of at least one profile',
    });
    await checkPage(page, 'segment-builder');
    await page.getByTestId('segment-save').click();
    await page.getByTestId('segment-saved').waitFor();
    await waitOnPage(
      page,
      'segment',
      async () => {
        await page.goto(`${consoleUrl}/segments/${encodeURIComponent(key)}`);
        await page.getByTestId('segment-size-chart').waitFor();
        // The chart's table alternative (in a closed <details>) holds a row per sampled point.
        const sampled = page.locator('table[aria-label="Size over time"] tbody tr').first();
        return (await sampled
          .waitFor({ state: 'attached', timeout: 5_000 })
          .then(() => true)
          .catch(() => false))
          ? true
          : null;
      },
      `the size chart of segment ${key} with a sampled point`,
    );
    await checkPage(page, 'segment');

    await waitOnPage(
      page,
      'contact-segment',
      async () => {
        await page.goto(`${consoleUrl}/contacts`);
        await openContactByEmail(page, email);
        await page
          .getByTestId('contact-segment')
          .first()
          .waitFor({ timeout: 10_000 })
          .catch(() => undefined);
        return (await page.locator(`[data-testid="contact-segment"][data-segment-key="${key}"]`).count()) === 1 ? true : null;
      },
      `the contact page listing segment ${key}`,
    );
    // why it entered: the trigger (the backfill of the new segment, or a later view) and the Product Viewed condition that held
    const reason = await page.locator(`[data-testid="contact-segment"][data-segment-key="${key}"] [data-testid="contact-segment-reason"]`).innerText();
    expect(reason).toMatch(/^Trigger: (A backfill|Event “Product Viewed”)/);
    expect(reason).toMatch(/Product Viewed with category = Coffee machines: \d+ times within 7 days \(needs ≥ 2\)/);
    await checkPage(page, 'contact-with-segment');

    // The contact list filtered by that segment, known contacts, seen within 7 days, leads to the contact.
    const profileId = await page.getByTestId('contact-page').getAttribute('data-profile-id');
    await page.goto(`${consoleUrl}/contacts`);
    await page.getByTestId('contacts-list').waitFor();
    await page.getByTestId('contacts-filter-segment').selectOption(key);
    await page.getByTestId('contacts-filter-known').selectOption('true');
    await page.getByTestId('contacts-filter-seen').selectOption('7');
    // All three are in the address bar (chosen in a row, none overwrote another). Each choice loaded
    // the list again, so the rows of an earlier choice can still be on screen: read the list as the
    // address bar gives it, one load with the three filters.
    await page.waitForURL((u) => u.searchParams.get('segment') === key && u.searchParams.get('known') === 'true' && u.searchParams.get('seen') === '7');
    await page.reload();
    const row = page.locator(`[data-testid="contact-row"][data-profile-id="${profileId}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('contact-row').count()).toBe(1);
    expect(await row.innerText()).toContain(email);
    await checkPage(page, 'contacts-list');
    await page.getByTestId('contacts-filter-known').selectOption('false'); // the contact logged in: not anonymous
    await page.getByText('No contact matches these filters.').waitFor({ timeout: 10_000 });
    await page.getByTestId('contacts-filter-known').selectOption('true');
    await row.getByRole('link').click();
    await page.waitForURL(`${consoleUrl}/contacts/${encodeURIComponent(profileId ?? '')}`);
    // Back from the contact, the list is as it was left (its filters are in the URL).
    await page.goBack();
    await row.waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('contact-row').count()).toBe(1);
    // the segment's option appears once the segments are loaded
    await waitFor(async () => ((await page.getByTestId('contacts-filter-segment').inputValue()) === key ? true : null), {
      timeoutMs: 10_000,
      message: 'the segment filter kept',
    });
    expect(await page.getByTestId('contacts-filter-seen').inputValue()).toBe('7');
  });

  it("refuses a viewer's change on the server (403), whatever the page shows", async () => {
    const viewer = await stack.browser.newContext();
    const login = await viewer.newPage();
    await login.goto(`${consoleUrl}/login`);
    await login.getByTestId('login-submit').waitFor();
    await checkPage(login, 'login');
    await login.close();
    const page = await signIn(viewer, USERS.viewer);
    await page.goto(`${consoleUrl}/segments/new`);
    await page.getByTestId('segment-key').waitFor();
    expect(await page.getByTestId('segment-save').count()).toBe(0);
    const answer = await page.evaluate(async () => {
      const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const res = await fetch('/api/svc/segmentation/v1/segments', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken },
        body: JSON.stringify({ key: 'viewer-made', name: 'Viewer made', condition: { attribute: 'traits.plan', op: 'equals', value: 'pro' } }),
      });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    });
    expect(answer).toEqual({ status: 403, body: { error: expect.objectContaining({ code: 'forbidden' }) } });
    await checkPage(page, 'viewer-segment');
    await viewer.close();
    await editor.close();
  });
});
