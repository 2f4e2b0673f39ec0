import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DLQ_TOPIC_OF, TOPIC_SPECS } from '@mosaic/contracts';
import { SignInThrottle } from '@mosaic/console-domain';
import { BootstrapAdmin, CreateUser, DeleteUser, ForwardRequest, ReplayDeadLetter, ResolveSession, SignIn } from '@mosaic/console-application';
import {
  ActivationDeliveries,
  Argon2PasswordHasher,
  ConsoleSessionsRepository,
  ConsoleUsersRepository,
  DeadLetterBrowser,
  DeadLetterReplaysRepository,
  LiveFeed,
  ServicesClient,
  ensureConsoleIndexes,
} from '@mosaic/console-data-access';
import { PeriodicTask, type Platform } from '@mosaic/shared-service';
import { AdminGuard, SignedInGuard } from './console-auth.guard';
import { spaSettings, upstreamUrls, webDir, type ConsoleConfig } from './console.config';
import { COOKIE_OPTIONS, REPLAYABLE_TOPICS, SIGN_IN_THROTTLE, SPA_SETTINGS, WEB_DIR } from './console.tokens';
import { DeadLettersController } from './dead-letters.controller';
import { LiveController } from './live.controller';
import { LiveStreams } from './live-streams';
import { ProxyController } from './proxy.controller';
import { SessionController } from './session.controller';
import { SpaController } from './spa.controller';
import { UsersController } from './users.controller';

/** Expired sessions are refused when read; the sweep only frees their space (and that of replay marks past the dead-letter topics' retention). */
const SESSION_SWEEP_INTERVAL_MS = 3_600_000;

@Module({})
export class ConsoleModule {
  /** Wiring only: users and sessions in MongoDB, the proxy's client of the five services, the web app's files. */
  static forRoot(platform: Platform, config: ConsoleConfig): DynamicModule {
    const users = new ConsoleUsersRepository(platform.mongo);
    const sessions = new ConsoleSessionsRepository(platform.mongo);
    const hasher = new Argon2PasswordHasher();
    const client = new ServicesClient(upstreamUrls(config.own), config.adminToken, config.own.CONSOLE_PROXY_TIMEOUT_MS);
    const deadLetters = deadLetterBrowser(platform, config);
    const replays = new DeadLetterReplaysRepository(platform.mongo, TOPIC_SPECS.dlqIdentity.retentionMs);
    const replayable = replayableTopics(platform);
    return {
      module: ConsoleModule,
      // The SPA's catch-all last: Fastify's router prefers the specific routes anyway.
      controllers: [SessionController, UsersController, ProxyController, LiveController, DeadLettersController, SpaController],
      providers: [
        { provide: ConsoleUsersRepository, useValue: users },
        { provide: ConsoleSessionsRepository, useValue: sessions },
        { provide: SignIn, useValue: new SignIn(users, sessions, hasher, config.own.CONSOLE_SESSION_TTL_HOURS) },
        { provide: ResolveSession, useValue: new ResolveSession(users, sessions) },
        { provide: CreateUser, useValue: new CreateUser(users, hasher) },
        { provide: DeleteUser, useValue: new DeleteUser(users, sessions) },
        { provide: ForwardRequest, useValue: new ForwardRequest(client) },
        { provide: COOKIE_OPTIONS, useValue: { secure: config.own.CONSOLE_COOKIE_SECURE, ttlHours: config.own.CONSOLE_SESSION_TTL_HOURS } },
        { provide: WEB_DIR, useValue: webDir(config.own) },
        { provide: SPA_SETTINGS, useValue: spaSettings(config.own) },
        { provide: SIGN_IN_THROTTLE, useValue: signInThrottle(config) },
        SignedInGuard,
        AdminGuard,
        { provide: LiveFeed, useValue: liveFeed(platform, config) },
        LiveStreams,
        { provide: DeadLetterBrowser, useFactory: () => startReading(platform, deadLetters) },
        { provide: DeadLetterReplaysRepository, useValue: replays },
        { provide: REPLAYABLE_TOPICS, useValue: replayable },
        { provide: ReplayDeadLetter, useValue: new ReplayDeadLetter(deadLetters, replays, platform.producer, new ActivationDeliveries(client), replayable) },
        startUp(platform, config, users, hasher),
        sessionSweep(platform, sessions, replays),
      ],
    };
  }
}

/** The live view's reader of events.raw, segments.membership and the dead-letter topics (LiveStreams starts and stops it). */
function liveFeed(platform: Platform, config: ConsoleConfig): LiveFeed {
  const t = platform.topics;
  const deadLetters = Object.values(DLQ_TOPIC_OF).map((key) => t[key]);
  return new LiveFeed(
    platform.kafka,
    { eventsRaw: t.eventsRaw, segmentsMembership: t.segmentsMembership, deadLetters },
    `${config.kafka.consumer.groupId}.live`,
    platform.runtime.logger,
  );
}

/** The dead-letter topics' latest records (DeadLetterReader starts and stops it). */
function deadLetterBrowser(platform: Platform, config: ConsoleConfig): DeadLetterBrowser {
  const topics = Object.values(DLQ_TOPIC_OF).map((key) => platform.topics[key]);
  return new DeadLetterBrowser(platform.kafka, topics, config.kafka.consumer.groupId, platform.runtime.logger);
}

function signInThrottle(config: ConsoleConfig): SignInThrottle | null {
  const { CONSOLE_SIGNIN_MAX_FAILURES: maxFailures, CONSOLE_SIGNIN_WINDOW_MINUTES: minutes } = config.own;
  return maxFailures > 0 ? new SignInThrottle({ maxFailures, windowMs: minutes * 60_000 }) : null;
}

/** Reads the dead-letter topics while the console runs. */
function startReading(platform: Platform, browser: DeadLetterBrowser): DeadLetterBrowser {
  browser.start();
  platform.onShutdown(() => browser.stop());
  return browser;
}

/** Where a dead letter may go back to: every Mosaic topic but the dead-letter topics themselves. */
function replayableTopics(platform: Platform): ReadonlySet<string> {
  const deadLetterKeys = new Set<string>(Object.values(DLQ_TOPIC_OF));
  return new Set(
    Object.entries(platform.topics)
      .filter(([key]) => !deadLetterKeys.has(key))
      .map(([, name]) => name),
  );
}

/** Indexes, then the first admin when there is no user yet. */
function startUp(platform: Platform, config: ConsoleConfig, users: ConsoleUsersRepository, hasher: Argon2PasswordHasher): Provider {
  return {
    provide: 'console.start-up',
    useFactory: async () => {
      await ensureConsoleIndexes(platform.mongo);
      if (await new BootstrapAdmin(users, hasher).execute(config.own.CONSOLE_INITIAL_ADMIN_PASSWORD)) {
        platform.runtime.logger.info({ username: 'admin' }, 'console: first admin created from CONSOLE_INITIAL_ADMIN_PASSWORD');
      }
    },
  };
}

function sessionSweep(platform: Platform, sessions: ConsoleSessionsRepository, replays: DeadLetterReplaysRepository): Provider {
  return {
    provide: 'console.session-sweep',
    useFactory: () => {
      const logger = platform.runtime.logger;
      const task = new PeriodicTask({
        intervalMs: SESSION_SWEEP_INTERVAL_MS,
        run: async () => ({ sessions: await sessions.deleteExpired(), replays: await replays.deleteExpired() }),
        onDone: (deleted) => {
          if (deleted.sessions + deleted.replays > 0) logger.info({ deleted }, 'console: expired sessions and replay marks deleted');
        },
        onError: (err) => logger.warn({ err }, 'console: session sweep failed'),
      });
      task.start();
      platform.onShutdown(() => task.stop());
      return task;
    },
  };
}
