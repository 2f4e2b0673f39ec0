// The console's Dead letters page in real headless Chromium, on the real broker and store: a
// dead letter produced to the enrichment dead-letter topic is reached from the Live page's count,
// shown with its error and its original value, and replayed by an editor; the original message
// then reaches the source topic and the page says who replayed it. Checked with axe-core and
// photographed (.mosaic/screenshots/console-dead-letters.png).
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { Schemas, type DeadLetter } from '@mosaic/contracts';
import { produceMessage } from '@mosaic/shared-kafka';
import type { StartedService } from '@mosaic/shared-service';
import { PIPELINE_WAIT_MS, TopicTap, dropTestDatabase, startTestService, testInfra } from '@mosaic/shared-testing';
import { consoleDefinition } from '../../apps/console/src/console.definition';
import { buildConsoleWeb, checkPage, createUser, signIn, waitOnPage } from './console-harness';
import { launchChromium } from './harness';

jest.setTimeout(4 * 60_000);

const EDITOR = { username: 'dora.editor', password: 'editor-password-1', role: 'editor' };

let consoleApp: StartedService;
let browser: Browser;
let webDir: string;
let tap: TopicTap;

beforeAll(async () => {
  webDir = buildConsoleWeb();
  consoleApp = await startTestService(consoleDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'e2e-console-dlq', CONSOLE_INITIAL_ADMIN_PASSWORD: 'initial-admin-password', CONSOLE_WEB_DIR: webDir },
  });
  await createUser(consoleApp.http.url, EDITOR);
  tap = await TopicTap.start(testInfra().kafkaBrokers, consoleApp.platform.topics.eventsResolved);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await tap?.stop();
  await consoleApp?.stop();
  await dropTestDatabase().catch(() => undefined);
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

it('an editor finds a dead letter from the Live page, reads its error and value, and replays it to its source topic', async () => {
  const topics = consoleApp.platform.topics;
  const key = `p-${randomUUID()}`;
  const value = JSON.stringify({ schema: 'events.resolved', payload: { marker: key } });
  const letter: DeadLetter = {
    service: 'enrichment',
    sourceTopic: topics.eventsResolved,
    partition: 2,
    offset: '41',
    key,
    valueBase64: Buffer.from(value).toString('base64'),
    headers: { messageId: randomUUID() },
    error: { name: 'TypeError', message: 'the stage could not read this event' },
    attempts: 1,
    failedAt: new Date().toISOString(),
  };
  await produceMessage(consoleApp.platform.producer, topics.dlqEnrichment, Schemas.deadLetter, letter, { key, producer: 'e2e' });

  const page = await signIn(await browser.newContext(), consoleApp.http.url, EDITOR);
  await page.goto(`${consoleApp.http.url}/live`);
  await page.getByRole('link', { name: `Dead letters of ${topics.dlqEnrichment}` }).click();
  const row = page.locator(`[data-testid="dead-letter-row"]`, { hasText: key });
  await waitOnPage(
    page,
    'dead-letters',
    async () => {
      if ((await row.count()) > 0) return true;
      await page.getByTestId('dead-letters-refresh').click();
      return null;
    },
    'the dead letter listed',
  );
  expect(page.url()).toContain(`topic=${encodeURIComponent(topics.dlqEnrichment)}`);
  await expect(row.getByTestId('dead-letter-error').innerText()).resolves.toContain('the stage could not read this event');
  await row.getByRole('button', { name: /^Show dead letter/ }).click();
  await expect(page.getByTestId('dead-letter-details').innerText()).resolves.toContain(value);
  await checkPage(page, 'dead-letters');

  await row.getByTestId('dead-letter-replay').click();
  await page.getByTestId('dead-letters-notice').waitFor();
  await expect(page.getByTestId('dead-letters-notice').innerText()).resolves.toContain(`sent back to ${topics.eventsResolved} (partition 2)`);
  await tap.waitFor((ms) => ms.some((m) => m.key === key && m.partition === 2 && m.value?.toString('utf8') === value), PIPELINE_WAIT_MS);
  // The list is read again after the replay.
  await row.getByTestId('dead-letter-replayed').getByText(`replayed 1× (last by ${EDITOR.username}`, { exact: false }).waitFor();
});
