/**
 * Nest integration: a custom transport strategy that feeds `@EventPattern('<topicKey>')`
 * controller methods with whole partition batches from the {@link ConsumerHost}.
 */
import { Catch, Controller, UseFilters, applyDecorators, type RpcExceptionFilter } from '@nestjs/common';
import { BaseRpcContext, CustomTransportStrategy, Server, type MessageHandler } from '@nestjs/microservices';
import { lastValueFrom, throwError, type Observable } from 'rxjs';
import { TOPIC_SPECS, type TopicKey } from '@mosaic/contracts';
import type { Logger } from '@mosaic/shared-logging';
import type { BatchContext, ConsumerCrashInfo, ConsumerHost, InboundMessage } from './consumer-host';
import { toError } from './errors';

/** The context a handler gets with `@Ctx()`: `getMessages()`, `getBatch()`, `heartbeat()`. */
export class KafkaBatchContext extends BaseRpcContext<[InboundMessage[], BatchContext]> {
  getMessages(): InboundMessage[] {
    return this.args[0];
  }
  getBatch(): BatchContext {
    return this.args[1];
  }
  getTopicKey(): TopicKey {
    return this.args[1].topicKey;
  }
  getPartition(): number {
    return this.args[1].partition;
  }
  heartbeat(): Promise<void> {
    return this.args[1].heartbeat();
  }
}

/**
 * Nest's default RPC exception filter turns any error into `{status:'error', message:'Internal
 * server error'}`. Errors still propagate (and are retried / dead-lettered) without this filter,
 * but apply it (`@UseFilters(new KafkaErrorPassthroughFilter())` on Kafka controllers, or
 * `app.useGlobalFilters` on a pure microservice) so the dead letter records the real error.
 */
@Catch()
export class KafkaErrorPassthroughFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * The class decorator of a service's Kafka handlers (`<stage>.consumer.ts`): a Nest controller
 * whose errors reach the ConsumerHost as thrown. The filter sits on the class because a hybrid
 * app (HTTP + this transport) registers the handlers as soon as `connectMicroservice` is called,
 * before a global filter could be added to the microservice.
 */
export function KafkaConsumer(): ClassDecorator {
  return applyDecorators(Controller(), UseFilters(new KafkaErrorPassthroughFilter()));
}

export interface KafkaBatchTransportOptions {
  logger?: Logger;
  /** Stop the ConsumerHost when Nest closes the transport; default true. */
  stopHostOnClose?: boolean;
}

export type KafkaBatchTransportStatus = 'disconnected' | 'connecting' | 'connected';

export type KafkaBatchTransportEvents = {
  crash: (info: ConsumerCrashInfo) => void;
};

interface HandlerExtras {
  fromBeginning?: boolean;
}

/**
 * `NestFactory.createMicroservice(Module, { strategy: new KafkaBatchTransport(host) })` or
 * `app.connectMicroservice({ strategy: new KafkaBatchTransport(() => app.get(ConsumerHost)) })`.
 * Each `@EventPattern('<topicKey>')` handler (extras: `{ fromBeginning }`) becomes one
 * ConsumerHost consumer; the handler gets `(messages: InboundMessage[], ctx: KafkaBatchContext)`,
 * and the batch is committed only after its returned promise / observable completed. An error
 * (thrown, rejected or emitted) goes back to the ConsumerHost: retries, then the dead-letter topic.
 */
export class KafkaBatchTransport extends Server<KafkaBatchTransportEvents, KafkaBatchTransportStatus> implements CustomTransportStrategy {
  private hostRef: ConsumerHost | undefined;

  constructor(
    private readonly host: ConsumerHost | (() => ConsumerHost),
    private readonly options: KafkaBatchTransportOptions = {},
  ) {
    super();
    this.initializeSerializer({});
    this.initializeDeserializer({});
  }

  private consumerHost(): ConsumerHost {
    this.hostRef ??= typeof this.host === 'function' ? this.host() : this.host;
    return this.hostRef;
  }

  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    this._status$.next('connecting');
    this.start().then(
      () => {
        this._status$.next('connected');
        callback();
      },
      (err: unknown) => {
        this._status$.next('disconnected');
        callback(err);
      },
    );
  }

  async close(): Promise<void> {
    if (this.options.stopHostOnClose !== false && this.hostRef) await this.hostRef.stop();
    this._status$.next('disconnected');
  }

  on<EventKey extends keyof KafkaBatchTransportEvents = keyof KafkaBatchTransportEvents>(
    event: EventKey,
    callback: KafkaBatchTransportEvents[EventKey],
  ): () => void {
    if (event !== 'crash') throw new Error(`KafkaBatchTransport has no event ${String(event)}`);
    return this.consumerHost().onCrash(callback);
  }

  unwrap<T>(): T {
    return this.consumerHost() as T;
  }

  private async start(): Promise<void> {
    // No @EventPattern handler: no consumer host either (a service without consumers).
    if (this.getHandlers().size === 0) return;
    const host = this.consumerHost();
    for (const [pattern, handler] of this.getHandlers()) {
      if (!handler.isEventHandler) {
        throw new Error(`KafkaBatchTransport only serves @EventPattern handlers; @MessagePattern(${pattern}) is not supported`);
      }
      if (!(pattern in TOPIC_SPECS)) {
        throw new Error(`@EventPattern(${JSON.stringify(pattern)}) is not a topic key (one of ${Object.keys(TOPIC_SPECS).join(', ')})`);
      }
      const extras = (handler.extras ?? {}) as HandlerExtras;
      host.register({
        topic: pattern as TopicKey,
        fromBeginning: extras.fromBeginning,
        handler: (messages, ctx) => this.dispatch(handler, messages, ctx),
      });
      this.options.logger?.info({ topic: pattern }, 'Kafka batch handler registered');
    }
    await host.start();
  }

  /** Calls the Nest handler and waits for its promise / observable; errors propagate. */
  private async dispatch(handler: MessageHandler, messages: InboundMessage[], batch: BatchContext): Promise<void> {
    const ctx = new KafkaBatchContext([messages, batch]);
    const run = async (): Promise<void> => {
      try {
        const result: unknown = await handler(messages, ctx);
        await lastValueFrom(this.transformToObservable(result) as Observable<unknown>, { defaultValue: undefined });
      } catch (err) {
        throw toError(err);
      } finally {
        this.onProcessingEndHook?.(this.transportId as symbol, ctx);
      }
    };
    let work: Promise<void> | undefined;
    await this.onProcessingStartHook(this.transportId as symbol, ctx, () => (work ??= run()));
    await (work ??= run());
  }
}
