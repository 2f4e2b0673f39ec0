// Shared set-up of the console's browser tests (console*.int-spec.ts): the single-page app built
// by Vite into a temporary directory, users made with the admin token, signing in, axe-core and a
// screenshot per page, and waiting on a page with its text kept when it gives up.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { z } from '@mosaic/shared-config';
import type { ServiceDefinition, StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, startTestService, waitFor } from '@mosaic/shared-testing';
import { consoleDefinition } from '../../apps/console/src/console.definition';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { segmentationDefinition } from '../../apps/segmentation/src/segmentation.definition';

const ROOT = join(__dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, '.mosaic', 'screenshots');
const AXE = join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');

export interface ConsoleUser {
  username: string;
  password: string;
  role: string;
}

export interface ConsoleServices {
  identity: StartedService;
  enrichment: StartedService;
  segmentation: StartedService;
  console: StartedService;
}

/**
 * Identity, enrichment, segmentation and the console in front of them (and of `collectorUrl`),
 * each pushed onto `started` as it starts (the test file stops them in reverse). Activation is
 * not started: the console's pages say what they could not load.
 */
export async function startConsoleServices(opts: {
  collectorUrl: string;
  webDir: string;
  /** Instance ids are `<prefix>-<service>`. */
  instancePrefix: string;
  started: StartedService[];
  segmentationEnv?: Record<string, string>;
}): Promise<ConsoleServices> {
  const start = async <E extends z.ZodRawShape>(def: ServiceDefinition<E>, name: string, env: Record<string, string> = {}): Promise<StartedService> => {
    const svc = await startTestService(def, { env: { MOSAIC_INSTANCE_ID: `${opts.instancePrefix}-${name}`, ...env } });
    opts.started.push(svc);
    return svc;
  };
  const identity = await start(identityDefinition, 'identity');
  const enrichment = await start(enrichmentDefinition, 'enrichment');
  const segmentation = await start(segmentationDefinition, 'segmentation', { SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0', ...opts.segmentationEnv });
  const consoleApp = await start(consoleDefinition, 'console', {
    CONSOLE_WEB_DIR: opts.webDir,
    CONSOLE_COLLECTOR_URL: opts.collectorUrl,
    CONSOLE_IDENTITY_URL: identity.http.url,
    CONSOLE_ENRICHMENT_URL: enrichment.http.url,
    CONSOLE_SEGMENTATION_URL: segmentation.http.url,
    CONSOLE_ACTIVATION_URL: 'http://127.0.0.1:9',
  });
  return { identity, enrichment, segmentation, console: consoleApp };
}

/** The single-page app built into a directory of this test file (as `npm run build` does into dist/). */
export function buildConsoleWeb(): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.mosaic', 'test-console-web-'));
  const script = `import('vite').then((v) => v.build({ configFile: ${JSON.stringify(join(ROOT, 'apps', 'console-web', 'vite.config.mjs'))}, build: { outDir: ${JSON.stringify(dir)} } }))`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vite build failed: ${r.stderr}`);
  return dir;
}

/** A console user, made with the admin token as the CLI does. */
export async function createUser(consoleUrl: string, user: ConsoleUser): Promise<void> {
  const res = await fetch(`${consoleUrl}/api/users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(user),
  });
  expect([res.status, await res.text()]).toEqual([201, expect.any(String)]);
}

export async function signIn(context: BrowserContext, consoleUrl: string, user: { username: string; password: string }): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${consoleUrl}/login`);
  await page.getByTestId('login-username').fill(user.username);
  await page.getByTestId('login-password').fill(user.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('signed-in-user').waitFor();
  return page;
}

/** axe-core on the page as it is: no serious or critical violation; then a screenshot. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const violations = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`,
  )) as unknown[];
  await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
  expect({ page: name, violations }).toEqual({ page: name, violations: [] });
}

/** `waitFor`, with a screenshot and the page's text when it gives up (what the console showed instead). */
export async function waitOnPage(page: Page, name: string, check: () => Promise<true | null>, message: string): Promise<void> {
  try {
    await waitFor(check, { timeoutMs: 90_000, intervalMs: 1_000, message });
  } catch (err) {
    await page.screenshot({ path: join(SCREENSHOTS, `console-failed-${name}.png`), fullPage: true }).catch(() => undefined);
    const text = await page.innerText('body').catch(() => '(no page)');
    throw new Error(`${(err as Error).message}; the page (${page.url()}) showed:\n${text.slice(0, 2_000)}`);
  }
}
