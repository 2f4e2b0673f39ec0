// The console's three stories in real headless Chromium, every service on the real broker and
// store: a visitor browses the demo shop anonymously and logs in, and an editor finds them by
// email and sees one timeline holding the anonymous page views; the editor builds "viewed coffee
// machines twice in 7 days" in the builder, sees the preview count, saves it, and the contact
// page then shows the segment; a viewer's attempt to change anything is refused by the server.
// Every page is checked with axe-core (no serious or critical violation) and photographed into
// .mosaic/screenshots/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, startTestService, waitFor } from '@mosaic/shared-testing';
import { consoleDefinition } from '../../apps/console/src/console.definition';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { segmentationDefinition } from '../../apps/segmentation/src/segmentation.definition';
import { goto, newVisitor, open, startStack, type Stack } from './harness';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');
const SCREENSHOTS = join(ROOT, '.mosaic', 'screenshots');
const AXE = join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
const USERS = {
  editor: { username: 'eddie.editor', password: 'editor-password-1', role: 'editor' },
  viewer: { username: 'vera.viewer', password: 'viewer-password-1', role: 'viewer' },
} as const;

let stack: Stack;
let webDir: string;
let consoleUrl: string;
const services: StartedService[] = [];

/** The single-page app built into a directory of this test file (as `npm run build` does into dist/). */
function buildConsoleWeb(): string {
  const dir = mkdtempSync(join(ROOT, '.mosaic', 'test-console-web-'));
  const script = `import('vite').then((v) => v.build({ configFile: ${JSON.stringify(join(ROOT, 'apps', 'console-web', 'vite.config.mjs'))}, build: { outDir: ${JSON.stringify(dir)} } }))`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vite build failed: ${r.stderr}`);
  return dir;
}

async function createUser(user: { username: string; password: string; role: string }): Promise<void> {
  const res = await fetch(`${consoleUrl}/api/users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(user),
  });
  expect([res.status, await res.text()]).toEqual([201, expect.any(String)]);
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  webDir = buildConsoleWeb();
  stack = await startStack();
  const identity = await startTestService(identityDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-c-identity' } });
  services.push(identity);
  const enrichment = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-c-enrichment' } });
  services.push(enrichment);
  const segmentation = await startTestService(segmentationDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'e2e-c-segmentation', SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' },
  });
  services.push(segmentation);
  const consoleApp = await startTestService(consoleDefinition, {
    env: {
      CONSOLE_WEB_DIR: webDir,
      CONSOLE_COLLECTOR_URL: stack.collectorUrl,
      CONSOLE_IDENTITY_URL: identity.http.url,
      CONSOLE_ENRICHMENT_URL: enrichment.http.url,
      CONSOLE_SEGMENTATION_URL: segmentation.http.url,
      // Activation is not started: the contact page says what it could not load.
      CONSOLE_ACTIVATION_URL: 'http://127.0.0.1:9',
    },
  });
  services.push(consoleApp);
  consoleUrl = consoleApp.http.url;
  await createUser(USERS.editor);
  await createUser(USERS.viewer);
}, 240_000);

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  await stack?.stop();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

async function signIn(context: BrowserContext, user: { username: string; password: string }): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${consoleUrl}/login`);
  await page.getByTestId('login-username').fill(user.username);
  await page.getByTestId('login-password').fill(user.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('signed-in-user').waitFor();
  return page;
}

/** axe-core on the page as it is: no serious or critical violation; then a screenshot. */
async function checkPage(page: Page, name: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const violations = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`,
  )) as unknown[];
  await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
  expect({ page: name, violations }).toEqual({ page: name, violations: [] });
}

/** `waitFor`, with a screenshot and the page's text when it gives up (what the console showed instead). */
async function waitOnPage(page: Page, name: string, check: () => Promise<true | null>, message: string): Promise<void> {
  try {
    await waitFor(check, { timeoutMs: 90_000, intervalMs: 1_000, message });
  } catch (err) {
    await page.screenshot({ path: join(SCREENSHOTS, `console-failed-${name}.png`), fullPage: true }).catch(() => undefined);
    const text = await page.innerText('body').catch(() => '(no page)');
    throw new Error(`${(err as Error).message}; the page (${page.url()}) showed:\n${text.slice(0, 2_000)}`);
  }
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
    await checkPage(page, 'contact-with-segment');
  });

  it("refuses a viewer's change on the server (403), whatever the page shows", async () => {
    const viewer = await stack.browser.newContext();
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
