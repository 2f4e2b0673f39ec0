import 'reflect-metadata';
import { Controller, Inject, Module, UseFilters } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import { timer, map, type Observable } from 'rxjs';
import { DLQ_TOPIC_OF, Schemas, decodeMessage, topicName } from '@mosaic/contracts';
import { waitFor } from '@mosaic/shared-testing';
import { ConsumerHost, type InboundMessage } from './consumer-host';
import { KafkaBatchContext, KafkaBatchTransport, KafkaErrorPassthroughFilter } from './nest-transport';
import { EventProducer } from './producer';
import { FAST_CONSUMER, committedOffset, provision, readMessages, testKafka, testKafkaConfig, testLogger } from './testing/support';

const SINK = Symbol('SINK');
interface Sink {
  resolved: { values: string[]; ctx: KafkaBatchContext }[];
  changes: string[];
}

@Controller()
@UseFilters(new KafkaErrorPassthroughFilter())
class EventsController {
  constructor(@Inject(SINK) private readonly sink: Sink) {}

  @EventPattern('eventsResolved')
  async onResolved(@Payload() messages: InboundMessage[], @Ctx() ctx: KafkaBatchContext): Promise<void> {
    const values = messages.map((m) => m.value?.toString() ?? '');
    if (values.includes('poison')) throw new Error('nest handler cannot digest poison');
    await ctx.heartbeat();
    this.sink.resolved.push({ values, ctx });
  }

  @EventPattern('profilesChanges', { fromBeginning: true })
  onChanges(@Payload() messages: InboundMessage[]): Observable<void> {
    return timer(100).pipe(map(() => void this.sink.changes.push(...messages.map((m) => m.value?.toString() ?? ''))));
  }
}

describe('KafkaBatchTransport (Nest custom transport over ConsumerHost, real broker)', () => {
  it('delivers batches to @EventPattern handlers, commits after them and dead-letters their errors', async () => {
    const logger = testLogger();
    const cfg = testKafkaConfig({ partitions: 1, consumer: { groupId: '', maxRetries: 1, retryBackoffMs: 10, sessionTimeoutMs: 6_000 } });
    cfg.consumer.groupId = `${cfg.topicPrefix}enrichment`;
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsResolved', 'profilesChanges', 'dlqEnrichment'], logger);
    const producer = new EventProducer(kafka, cfg, logger);
    await producer.connect(10_000);
    const host = new ConsumerHost({ kafka, config: cfg, service: 'enrichment', producer, logger, ...FAST_CONSUMER });
    const sink: Sink = { resolved: [], changes: [] };

    @Module({ controllers: [EventsController], providers: [{ provide: SINK, useValue: sink }] })
    class TestModule {}

    const app = await NestFactory.createMicroservice<MicroserviceOptions>(TestModule, {
      strategy: new KafkaBatchTransport(() => host, { logger }),
      logger: false,
    });
    const resolvedTopic = topicName(cfg.topicPrefix, 'eventsResolved');
    const changesTopic = topicName(cfg.topicPrefix, 'profilesChanges');
    try {
      await app.listen();
      expect(host.registeredTopics().sort()).toEqual(['eventsResolved', 'profilesChanges']);
      expect(app.unwrap<ConsumerHost>()).toBe(host);

      await producer.send(
        resolvedTopic,
        ['r1', 'r2'].map((v) => ({ key: 'p', value: Buffer.from(v), headers: {} })),
      );
      await producer.send(
        changesTopic,
        ['c1'].map((v) => ({ key: 'p', value: Buffer.from(v), headers: {} })),
      );
      await waitFor(() => sink.resolved.flatMap((b) => b.values).length === 2 && sink.changes.length === 1, {
        timeoutMs: 20_000,
        message: 'batches delivered',
      });
      expect(sink.resolved.flatMap((b) => b.values)).toEqual(['r1', 'r2']);
      const ctx = sink.resolved[0]?.ctx;
      expect(ctx).toBeInstanceOf(KafkaBatchContext);
      expect(ctx?.getTopicKey()).toBe('eventsResolved');
      expect(ctx?.getPartition()).toBe(0);
      expect(ctx?.getMessages().map((m) => m.offset)).toEqual(['0', '1']);
      await waitFor(async () => (await committedOffset(kafka, host.groupIdFor('eventsResolved'), resolvedTopic)) === 2, { timeoutMs: 10_000 });
      await waitFor(async () => (await committedOffset(kafka, host.groupIdFor('profilesChanges'), changesTopic)) === 1, { timeoutMs: 10_000 });

      await producer.send(
        resolvedTopic,
        ['poison', 'r3'].map((v) => ({ key: 'p', value: Buffer.from(v), headers: {} })),
      );
      await waitFor(async () => (await committedOffset(kafka, host.groupIdFor('eventsResolved'), resolvedTopic)) === 4, { timeoutMs: 20_000 });
      expect(sink.resolved.flatMap((b) => b.values)).toEqual(['r1', 'r2', 'r3']);
      const [letter] = await readMessages(kafka, topicName(cfg.topicPrefix, DLQ_TOPIC_OF.enrichment), 1);
      const dead = decodeMessage(Schemas.deadLetter, letter?.value).payload;
      expect(dead).toMatchObject({ service: 'enrichment', sourceTopic: resolvedTopic, offset: '2', attempts: 2 });
      expect(dead.error).toMatchObject({ name: 'Error', message: 'nest handler cannot digest poison' });
      expect(host.health().ok).toBe(true);
    } finally {
      await app.close();
      await producer.disconnect();
    }
    expect(host.health().topics.map((t) => t.state)).toEqual(['stopped', 'stopped']);
  });

  it("still propagates errors without the passthrough filter (as Nest's generic RPC error)", async () => {
    @Controller()
    class PlainController {
      @EventPattern('eventsRaw')
      handle(@Payload() messages: InboundMessage[]): void {
        if (messages.some((m) => m.value?.toString() === 'poison')) throw new Error('hidden by Nest');
      }
    }
    @Module({ controllers: [PlainController] })
    class PlainModule {}
    const logger = testLogger();
    const cfg = testKafkaConfig({ partitions: 1, consumer: { groupId: '', maxRetries: 0, retryBackoffMs: 10, sessionTimeoutMs: 6_000 } });
    cfg.consumer.groupId = `${cfg.topicPrefix}identity`;
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsRaw', 'dlqIdentity'], logger);
    const producer = new EventProducer(kafka, cfg, logger);
    const host = new ConsumerHost({ kafka, config: cfg, service: 'identity', producer, logger, ...FAST_CONSUMER });
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(PlainModule, { strategy: new KafkaBatchTransport(host), logger: false });
    try {
      await app.listen();
      await producer.send(topicName(cfg.topicPrefix, 'eventsRaw'), [{ key: 'k', value: Buffer.from('poison'), headers: {} }]);
      const [letter] = await readMessages(kafka, topicName(cfg.topicPrefix, 'dlqIdentity'), 1);
      expect(decodeMessage(Schemas.deadLetter, letter?.value).payload.error).toMatchObject({ name: 'HandlerError', message: 'Internal server error' });
    } finally {
      await app.close();
      await producer.disconnect();
    }
  });

  it('refuses patterns that are not topic keys', async () => {
    @Controller()
    class BadController {
      @EventPattern('no-such-topic')
      handle(): void {}
    }
    @Module({ controllers: [BadController] })
    class BadModule {}
    const logger = testLogger();
    const cfg = testKafkaConfig();
    const host = new ConsumerHost({ kafka: testKafka(cfg, logger), config: cfg, service: 'identity', producer: { send: async () => undefined }, logger });
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(BadModule, { strategy: new KafkaBatchTransport(host), logger: false });
    await expect(app.listen()).rejects.toThrow(/not a topic key/);
    await app.close();
  });
});
