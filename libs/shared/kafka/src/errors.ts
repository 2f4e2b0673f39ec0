/** Errors the Kafka plumbing reports to its callers. */

/**
 * The producer cannot get messages acknowledged right now: the broker is unreachable, the
 * acknowledgement did not arrive within `ackTimeoutMs`, or the producer is closing. Callers
 * answer "try again later" (HTTP 503); nothing was acknowledged for these messages (some may
 * still reach Kafka later, so downstream stages de-duplicate by `messageId`).
 */
export class ProducerUnavailableError extends Error {
  override readonly name = 'ProducerUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Kafka rejected the messages for a reason retrying will not fix (e.g. a record too large). */
export class ProducerSendError extends Error {
  override readonly name: string = 'ProducerSendError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The topic does not exist (topics are provisioned explicitly, never auto-created). */
export class UnknownTopicError extends ProducerSendError {
  override readonly name = 'UnknownTopicError';
  constructor(readonly topic: string) {
    super(`topic ${JSON.stringify(topic)} does not exist (provision it with TopicProvisioner)`);
  }
}

/** Throw this from a handler for errors retrying cannot fix: the message goes to the DLQ at once. */
export class NonRetriableError extends Error {
  override readonly name: string = 'NonRetriableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Throw this from a handler for a failure that passes by itself (e.g. a duplicate-key race the
 * handler knows to be one): the consumer host retries the message, never dead-letters it.
 */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A batch handler rejected with something that is not an `Error` (e.g. the `{status, message}`
 * object Nest's default RPC exception filter emits); wrapped so it can be logged and dead-lettered.
 */
export class HandlerError extends Error {
  override readonly name = 'HandlerError';
  constructor(
    message: string,
    readonly original: unknown,
  ) {
    super(message);
  }
}

/** Turns any rejection value into an `Error` (keeping real errors as they are). */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'object' && e !== null) {
    const m = (e as Record<string, unknown>)['message'];
    let text: string;
    try {
      text = typeof m === 'string' ? m : JSON.stringify(e);
    } catch {
      text = String(e);
    }
    return new HandlerError(text, e);
  }
  return new HandlerError(String(e), e);
}
