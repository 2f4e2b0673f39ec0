// The console with the keyboard only, in real headless Chromium, every service on the real broker
// and store: an editor signs in, skips to the main content, goes to Contacts through the
// navigation, finds a contact by email and opens it, goes to Segments, opens the builder, adds an
// event condition, types its event name and property filter, and saves the segment. Only page.keyboard is used (Tab,
// Shift+Tab, Enter, Space, arrow keys, typing into the focused field): no clicks, no fill(). On the
// way, every control acted on shows a visible focus indicator, and a new page moves the focus to
// its heading. Pages are checked with axe-core and photographed (.mosaic/screenshots/).
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, waitFor } from '@mosaic/shared-testing';
import { buildConsoleWeb, startConsoleServices, checkPage, createUser, waitOnPage } from './console-harness';
import { startStack, type Stack } from './harness';

jest.setTimeout(240_000);

const EDITOR = { username: 'kim.keyboard', password: 'keyboard-password-1', role: 'editor' } as const;
/** Most key presses to reach a control: a failing focus order stops here instead of cycling forever. */
const MAX_TABS = 40;

let stack: Stack;
let webDir: string;
let consoleUrl: string;
let identityUrl: string;
const services: StartedService[] = [];
const email = `kay.${Date.now()}@example.com`;

beforeAll(async () => {
  webDir = buildConsoleWeb();
  stack = await startStack();
  const started = await startConsoleServices({ collectorUrl: stack.collectorUrl, webDir, instancePrefix: 'e2e-ck', started: services });
  identityUrl = started.identity.http.url;
  consoleUrl = started.console.http.url;
  await createUser(consoleUrl, EDITOR);
}, 240_000);

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  await stack?.stop();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

/** A contact with an email, through the collector's HTTP API; answers once identity knows it. */
async function contactWithEmail(): Promise<void> {
  const res = await fetch(`${stack.collectorUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${stack.writeKey}:`).toString('base64')}` },
    body: JSON.stringify({
      batch: [{ type: 'identify', messageId: randomUUID(), userId: `kay-${Date.now()}`, traits: { email, firstName: 'Kay' } }],
    }),
  });
  expect(res.status).toBe(200);
  await waitFor(async () => ((await adminRequest(identityUrl, 'GET', `/v1/identities/email/${encodeURIComponent(email)}`)).status === 200 ? true : null), {
    timeoutMs: 90_000,
    intervalMs: 500,
    message: `identity knowing ${email}`,
  });
}

interface Focused {
  testId: string | null;
  tag: string;
  text: string;
  value: string | null;
  /** A focus indicator is drawn: an outline or a box shadow (on an input's wrapper for a password field). */
  ring: boolean;
  /** Inside the viewport (a skip link off-screen until focused would not be). */
  onScreen: boolean;
}

/** What has the focus, and whether it is visibly marked. */
function focused(page: Page): Promise<Focused> {
  return page.evaluate(`(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { testId: null, tag: 'BODY', text: '', value: null, ring: false, onScreen: false };
    // The ring may be drawn by the field's wrapper (a password input beside its show/hide button).
    const drawn = (e) => {
      const cs = getComputedStyle(e);
      return (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || (cs.boxShadow !== '' && cs.boxShadow !== 'none');
    };
    const r = el.getBoundingClientRect();
    return {
      testId: el.getAttribute('data-testid'),
      tag: el.tagName,
      text: (el.textContent || '').trim().slice(0, 80),
      value: 'value' in el ? String(el.value) : null,
      ring: drawn(el) || (el.tagName === 'INPUT' && !!el.parentElement && drawn(el.parentElement)),
      onScreen: r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,
    };
  })()`) as Promise<Focused>;
}

/**
 * Presses Tab (Shift+Tab backwards) until the control `testId` has the focus, and checks that it
 * shows it; answers how many presses it took.
 */
async function tabTo(page: Page, testId: string, backwards = false): Promise<number> {
  const seen: string[] = [];
  for (let presses = 1; presses <= MAX_TABS; presses++) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    if (f.testId === testId) {
      expect({ testId, ring: f.ring, onScreen: f.onScreen }).toEqual({ testId, ring: true, onScreen: true });
      return presses;
    }
    seen.push(f.testId ?? `${f.tag} "${f.text}"`);
  }
  throw new Error(`${testId} not reached with ${backwards ? 'Shift+Tab' : 'Tab'}; the focus went through: ${seen.join(', ')}`);
}

/** After a navigation: the new page's h1 has the focus (so Tab continues in the page). */
async function expectHeadingFocused(page: Page, text: RegExp): Promise<void> {
  await waitFor(async () => ((await focused(page)).tag === 'H1' ? true : null), { timeoutMs: 10_000, intervalMs: 100, message: 'the focus on the h1' });
  expect((await focused(page)).text).toMatch(text);
}

it('an editor signs in, finds a contact and builds a segment with the keyboard only', async () => {
  await contactWithEmail();
  const context = await stack.browser.newContext();
  const page = await context.newPage();
  // A signed-out visit to /live leads to the sign-in form, then back to /live.
  await page.goto(`${consoleUrl}/live`);
  await page.getByTestId('login-submit').waitFor();
  expect(await tabTo(page, 'login-username')).toBe(1);
  await page.keyboard.type(EDITOR.username);
  expect(await tabTo(page, 'login-password')).toBe(1);
  await page.keyboard.type(EDITOR.password);
  await page.keyboard.press('Enter');
  await page.getByTestId('signed-in-user').waitFor();
  await page.getByTestId('live-dead-letters').waitFor();

  // The first stop of a page is the skip link; it takes the focus to the page's heading.
  expect(await tabTo(page, 'skip-link')).toBe(1);
  await page.keyboard.press('Enter');
  await expectHeadingFocused(page, /Live/);
  expect(new URL(page.url()).pathname).toBe('/live');

  // Back from the heading into the navigation, to Contacts.
  await tabTo(page, 'nav-contacts', true);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${consoleUrl}/contacts`);
  await expectHeadingFocused(page, /^Contacts$/);
  expect(await tabTo(page, 'search-type')).toBe(1);
  // A native select changes with the arrow keys: away from Email and back.
  await page.keyboard.press('ArrowDown');
  expect((await focused(page)).value).toBe('userId');
  await page.keyboard.press('ArrowUp');
  expect((await focused(page)).value).toBe('email');
  expect(await tabTo(page, 'search-value')).toBe(1);
  await page.keyboard.type(email);
  await page.keyboard.press('Enter');
  await page.getByTestId('contact-page').waitFor();
  await expectHeadingFocused(page, /^Contact /);
  await page.getByTestId('contact-identifiers').waitFor();
  expect(await page.getByTestId('contact-identifiers').innerText()).toContain(email);
  await checkPage(page, 'keyboard-contact');

  await tabTo(page, 'nav-segments', true);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${consoleUrl}/segments`);
  await expectHeadingFocused(page, /^Segments$/);
  await tabTo(page, 'segment-new');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${consoleUrl}/segments/new`);
  await expectHeadingFocused(page, /^New segment$/);
  const key = `kb-viewed-${Date.now()}`;
  expect(await tabTo(page, 'segment-key')).toBe(1);
  await page.keyboard.type(key);
  expect(await tabTo(page, 'segment-name')).toBe(1);
  await page.keyboard.type('Viewed a product (made with the keyboard)');
  await tabTo(page, 'builder-add-event-condition');
  await page.keyboard.press('Space');
  // The new condition's first field has the focus: type the event's name into it.
  await waitFor(async () => ((await focused(page)).testId === 'event-name' ? true : null), {
    timeoutMs: 5_000,
    intervalMs: 100,
    message: 'the focus on the new event condition',
  });
  expect((await focused(page)).ring).toBe(true);
  await page.keyboard.type('Product Viewed');
  expect((await focused(page)).value).toBe('Product Viewed');
  // Its property filter, from the next fields: category equals Coffee machines.
  await tabTo(page, 'event-property-path');
  await page.keyboard.type('category');
  await tabTo(page, 'event-property-value');
  await page.keyboard.type('Coffee machines');
  await page.getByTestId('validation-errors').waitFor({ state: 'detached' });
  await page.getByText('The definition is valid.').waitFor();
  await checkPage(page, 'keyboard-segment-builder');
  await tabTo(page, 'segment-save');
  await page.keyboard.press('Enter');
  await waitOnPage(page, 'keyboard-segment-saved', async () => ((await page.getByTestId('segment-saved').count()) > 0 ? true : null), `segment ${key} saved`);
  await context.close();
});
