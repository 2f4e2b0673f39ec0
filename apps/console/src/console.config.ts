import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { boolVar, intVar, z, type CommonConfig } from '@mosaic/shared-config';
import type { ProxiedService } from '@mosaic/console-domain';

const serviceUrl = (fallback: string) =>
  z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
    .default(fallback)
    .transform((u) => u.replace(/\/+$/, ''));

/** The console's own environment variables (the common ones, `CONSOLE_PORT` included, are in @mosaic/shared-config). */
export const consoleEnvSchema = z.object({
  CONSOLE_SESSION_TTL_HOURS: intVar(12, 1, 24 * 30),
  /** `true` behind HTTPS: the session cookie is then sent over HTTPS only. */
  CONSOLE_COOKIE_SECURE: boolVar(false),
  /** The first admin's password (user `admin`), used only while no user exists. */
  CONSOLE_INITIAL_ADMIN_PASSWORD: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(12, 'must be at least 12 characters').max(1024).optional()),
  CONSOLE_COLLECTOR_URL: serviceUrl('http://127.0.0.1:8080'),
  CONSOLE_IDENTITY_URL: serviceUrl('http://127.0.0.1:8081'),
  CONSOLE_ENRICHMENT_URL: serviceUrl('http://127.0.0.1:8082'),
  CONSOLE_SEGMENTATION_URL: serviceUrl('http://127.0.0.1:8083'),
  CONSOLE_ACTIVATION_URL: serviceUrl('http://127.0.0.1:8084'),
  /** Wrong passwords for one username within the window before its sign-in is refused (429) until the oldest leaves it; 0 = no limit. */
  CONSOLE_SIGNIN_MAX_FAILURES: intVar(5, 0, 1_000),
  CONSOLE_SIGNIN_WINDOW_MINUTES: intVar(5, 1, 24 * 60),
  /** Longest wait for a service's answer through the proxy (a segment preview may scan for a while). */
  CONSOLE_PROXY_TIMEOUT_MS: intVar(30_000, 100, 600_000),
  /** The built single-page app (default: dist/apps/console-web of the repository). */
  CONSOLE_WEB_DIR: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /**
   * The collector as browsers reach it (the variable the collector writes email links with): the
   * default of the tracker snippet the Sources page makes. Unset: the page guesses its own host, port 8080.
   */
  COLLECTOR_PUBLIC_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
  ),
});

export type ConsoleEnv = z.infer<typeof consoleEnvSchema>;
export type ConsoleConfig = CommonConfig & { own: ConsoleEnv };

/** What the single-page app is told about this deployment, with the session (`GET /api/session`). */
export interface SpaSettings {
  /** The collector's public base URL, without a trailing slash; null: unknown (the app guesses). */
  collectorPublicUrl: string | null;
}

export function spaSettings(env: ConsoleEnv): SpaSettings {
  return { collectorPublicUrl: env.COLLECTOR_PUBLIC_URL ?? null };
}

export function upstreamUrls(env: ConsoleEnv): Record<ProxiedService, string> {
  return {
    collector: env.CONSOLE_COLLECTOR_URL,
    identity: env.CONSOLE_IDENTITY_URL,
    enrichment: env.CONSOLE_ENRICHMENT_URL,
    segmentation: env.CONSOLE_SEGMENTATION_URL,
    activation: env.CONSOLE_ACTIVATION_URL,
  };
}

/** The repository (or image) root: the nearest directory above this file holding package.json. */
function repositoryRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Where the built single-page app is: `CONSOLE_WEB_DIR` (relative to the working directory), else
 * the one built beside this code (`<dist>/apps/console-web` for `<dist>/apps/console/src`: the
 * image, a test's build tree, `npm start`'s dist/), else `<root>/dist/apps/console-web` (when
 * running from the TypeScript sources). A built app has `assets/`; the app's sources do not.
 */
export function webDir(env: ConsoleEnv): string {
  if (env.CONSOLE_WEB_DIR) return resolve(env.CONSOLE_WEB_DIR);
  const besideCode = join(__dirname, '..', '..', 'console-web');
  return existsSync(join(besideCode, 'assets')) ? besideCode : join(repositoryRoot(), 'dist', 'apps', 'console-web');
}
