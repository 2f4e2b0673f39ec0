import type { ServiceDefinition } from '@mosaic/shared-service';
import { consoleEnvSchema, webDir } from './console.config';
import { ConsoleModule } from './console.module';
import { configureConsoleFastify } from './http';

/**
 * The console's backend for its single-page app: sign-in and sessions, console users, a proxy
 * to the five services' admin APIs that enforces each role, and the app's static files. It
 * starts like the services (same config, logs, health, metrics) but has no consumer group of its
 * own: the live view (`/api/live`) follows topics from their end with a group per instance.
 */
export const consoleDefinition: ServiceDefinition<typeof consoleEnvSchema.shape> = {
  service: 'console',
  configSchema: consoleEnvSchema,
  module: (platform, config) => ConsoleModule.forRoot(platform, config),
  openApi: {
    title: 'Mosaic console',
    description:
      "The console's backend: `POST /api/session` signs in (cookie `mosaic_console`, HttpOnly, SameSite=Strict); every other change needs the session's `X-CSRF-Token`. `/api/svc/<service>/<path>` forwards to a service's API as the signed-in user's role allows. `/api/users` (admins, or the Bearer admin token) manages console users. `/api/live` (JSON) and `/api/live/stream` (server-sent events) show the pipeline now.",
  },
  http: (config) => ({
    configureFastify: (instance) => configureConsoleFastify(instance, webDir(config.own)),
  }),
};
