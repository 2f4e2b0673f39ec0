import { topicName } from '@mosaic/contracts';
import { startPrivateKafka, waitFor, type PrivateKafka } from '@mosaic/shared-testing';
import { ConsumerHost } from './consumer-host';
import { TopicFollower } from './topic-follower';
import { capturingLogger, FAST_CONSUMER, provision, testKafka, testKafkaConfig, type LoggedLine } from './testing/support';

// A consumer that crashed while the broker was gone, and is restarting, when stop() is called:
// once stop() resolved nothing of it may be left (no restart timer, no connection attempts),
// or a service's SIGTERM drain never ends. The broker stays down after the kill, so any
// restart that outlived stop() keeps trying to connect, and its attempts show in the log.
jest.setTimeout(180_000);

const isConnectAttempt = (l: Record<string, unknown>) => l['namespace'] === 'Connection' && l['msg'] === 'Connecting';

/** Kills the broker, then waits until the consumer crashed and a restart is trying to connect. */
async function killAndAwaitRestart(broker: PrivateKafka, lines: LoggedLine[], crashed: () => boolean): Promise<void> {
  await broker.stop('SIGKILL');
  await waitFor(crashed, { timeoutMs: 60_000, message: 'the consumer crashed' });
  const after = Date.now();
  await waitFor(() => lines.some((l) => l.at >= after && isConnectAttempt(l.line)), { timeoutMs: 60_000, message: 'a restart tries to connect' });
}

/**
 * Connection attempts in the `quietMs` after stop() resolved (a hang detector, not a timing bound:
 * a restart that outlived stop() tries again within a few seconds, and for ever).
 */
async function connectAttemptsAfter(stopped: number, lines: LoggedLine[], quietMs = 10_000): Promise<number> {
  await new Promise((r) => setTimeout(r, quietMs));
  return lines.filter((l) => l.at > stopped && isConnectAttempt(l.line)).length;
}

describe('stopping a consumer that is restarting after a broker outage (private broker)', () => {
  let broker: PrivateKafka;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    broker = await startPrivateKafka();
  }, 120_000);
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });
  afterAll(async () => {
    await broker?.destroy();
  }, 60_000);

  async function brokerUp(): Promise<void> {
    if (broker.pid === null) await broker.start();
  }

  it('TopicFollower.stop() cancels the restart: nothing of the follower is left', async () => {
    await brokerUp();
    const { logger, lines } = capturingLogger('consumer-shutdown-test');
    const cfg = testKafkaConfig({ brokers: broker.brokers, partitions: 1 });
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['sources'], logger);
    const follower = new TopicFollower(kafka, {
      topics: [topicName(cfg.topicPrefix, 'sources')],
      groupPrefix: `${cfg.topicPrefix}follower`,
      fromBeginning: false,
      onRecord: () => undefined,
      onError: () => undefined,
    });
    await follower.start();
    cleanups.push(() => follower.stop());

    await killAndAwaitRestart(broker, lines, () => lines.some((l) => l.line['namespace'] === 'Consumer' && String(l.line['msg']).startsWith('Crash')));
    await follower.stop();
    const stopped = Date.now();

    expect(await connectAttemptsAfter(stopped, lines)).toBe(0);
    expect(follower.activity()).toEqual({ connected: false, restartPending: false, starting: false });
  });

  it('ConsumerHost.stop() cancels the restart: no live consumer, no pending restart', async () => {
    await brokerUp();
    const { logger, lines } = capturingLogger('consumer-shutdown-test');
    const cfg = testKafkaConfig({ brokers: broker.brokers, partitions: 1 });
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsResolved'], logger);
    const host = new ConsumerHost({ kafka, config: cfg, service: 'identity', producer: { send: async () => undefined }, logger, ...FAST_CONSUMER });
    host.register({ topic: 'eventsResolved', handler: async () => undefined });
    let crashes = 0;
    host.onCrash(() => crashes++);
    await host.start();
    cleanups.push(() => host.stop());

    await killAndAwaitRestart(broker, lines, () => crashes > 0);
    await host.stop();
    const stopped = Date.now();

    expect(host.activity()).toEqual({ connected: 0, restartsPending: 0, starting: 0 });
    expect(host.health().topics[0]?.state).toBe('stopped');
    expect(await connectAttemptsAfter(stopped, lines)).toBe(0);
    expect(host.activity()).toEqual({ connected: 0, restartsPending: 0, starting: 0 });
  });
});
