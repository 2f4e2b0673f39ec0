import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { mongo } from 'mongoose';
import { ContractViolationError } from '@mosaic/contracts';
import { HandlerError, NonRetriableError, ProducerSendError, ProducerUnavailableError, TransientError, UnknownTopicError } from './errors';
import { classifyFailure } from './failure-kind';

const serverError = (code: number, message = 'x', errorLabels: string[] = []) => new mongo.MongoServerError({ message, code, errorLabels });
const sysError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:27017`), { code });

describe('classifyFailure', () => {
  it('permanent: contract violations, NonRetriableError, retriable: false', () => {
    expect(classifyFailure(new ContractViolationError('events.raw: envelope invalid'))).toBe('permanent');
    expect(classifyFailure(new NonRetriableError('bad'))).toBe('permanent');
    expect(classifyFailure(Object.assign(new Error('x'), { retriable: false }))).toBe('permanent');
  });

  it('permanent: MongoDB rejecting the data (FerretDB answers BadValue to nested arrays)', () => {
    expect(classifyFailure(serverError(2, 'invalid value: { "a": [ [ 1 ] ] } (nested arrays are not supported)'))).toBe('permanent');
    for (const code of [9, 14, 16, 40, 10334, 17419, 17420]) expect(classifyFailure(serverError(code))).toBe('permanent');
    expect(classifyFailure(new mongo.MongoInvalidArgumentError('bad option'))).toBe('permanent');
  });

  it('permanent: a PostgreSQL data exception behind FerretDB; other InternalErrors stay unknown', () => {
    const pg = (sqlstate: string) =>
      serverError(1, `[msg_insert.go:168 handler.(*Handler).MsgInsert] ERROR: unsupported Unicode escape sequence (SQLSTATE ${sqlstate})`);
    expect(classifyFailure(pg('22P05'))).toBe('permanent');
    expect(classifyFailure(pg('22003'))).toBe('permanent');
    expect(classifyFailure(pg('53300'))).toBe('unknown'); // too many connections: not the data
    expect(classifyFailure(serverError(1, 'internal error'))).toBe('unknown');
  });

  it('permanent: TypeError / RangeError / SyntaxError from the handler', () => {
    expect(classifyFailure(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe('permanent');
    expect(classifyFailure(Object.assign(new RangeError('The value of "offset" is out of range.'), { code: 'ERR_OUT_OF_RANGE' }))).toBe('permanent');
    expect(classifyFailure(new SyntaxError('Unexpected token'))).toBe('permanent');
  });

  it('permanent: Kafka refusing the record itself', () => {
    expect(classifyFailure(new ProducerSendError('message of 2000000 bytes exceeds the 1048576-byte limit'))).toBe('permanent');
    const tooLarge = Object.assign(new KafkaJSProtocolError('The request included a message larger than the max message size'), {
      type: 'MESSAGE_TOO_LARGE',
      retriable: false,
    });
    expect(classifyFailure(tooLarge)).toBe('permanent');
  });

  it('transient: network errors, also behind a wrapper (undici "fetch failed", AggregateError)', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']) expect(classifyFailure(sysError(code))).toBe('transient');
    expect(classifyFailure(new TypeError('fetch failed', { cause: sysError('ECONNREFUSED') }))).toBe('transient');
    expect(classifyFailure(new AggregateError([sysError('ECONNREFUSED'), sysError('ECONNREFUSED')], 'connect failed'))).toBe('transient');
  });

  it('transient: MongoDB driver network, server selection and pool errors, and retryable labels', () => {
    expect(classifyFailure(new mongo.MongoNetworkError('connection closed'))).toBe('transient');
    expect(classifyFailure(new mongo.MongoNetworkTimeoutError('timed out'))).toBe('transient');
    expect(classifyFailure(new mongo.MongoServerSelectionError('Server selection timed out after 5000 ms', {} as never))).toBe('transient');
    expect(classifyFailure(new mongo.MongoNotConnectedError('not connected'))).toBe('transient');
    expect(classifyFailure(serverError(11602, 'InterruptedDueToReplStateChange'))).toBe('transient');
    expect(classifyFailure(serverError(64, 'waiting for replication timed out'))).toBe('transient');
    for (const label of ['RetryableWriteError', 'TransientTransactionError', 'ResetPool'])
      expect(classifyFailure(serverError(1, 'x', [label]))).toBe('transient');
    // A label wins over a data code.
    expect(classifyFailure(serverError(2, 'x', ['RetryableWriteError']))).toBe('transient');
    expect(classifyFailure(new Error('write failed', { cause: new mongo.MongoNetworkError('socket closed') }))).toBe('transient');
  });

  it('transient: the broker unavailable (producer, kafkajs), a missing topic, TransientError', () => {
    expect(classifyFailure(new ProducerUnavailableError('Kafka is unavailable'))).toBe('transient');
    expect(classifyFailure(new UnknownTopicError('mosaic.events.resolved'))).toBe('transient');
    expect(classifyFailure(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'))).toBe('transient');
    expect(classifyFailure(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'))).toBe('transient');
    expect(classifyFailure(new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('refused'), { retryCount: 5, retryTime: 3000 }))).toBe('transient');
    expect(classifyFailure(new TransientError('duplicate key: a concurrent insert won', { cause: serverError(11000) }))).toBe('transient');
  });

  it("transient: kafkajs' broker that never learned its versions (its ApiVersions request timed out)", () => {
    expect(classifyFailure(new Error('Broker not connected'))).toBe('transient');
    const inner = new Error('Broker not connected');
    // as kafkajs' retrier wraps a failure it does not retry (its typings omit the cause)
    expect(classifyFailure(Object.assign(new KafkaJSNonRetriableError(inner), { cause: inner }))).toBe('transient');
    expect(classifyFailure(new Error('Broker not connected: something else'))).toBe('unknown');
  });

  it('unknown: plain errors, duplicate keys (a race only where the handler says so), non-retriable broker errors', () => {
    expect(classifyFailure(new Error('ResolutionConflictError: still conflicting after 10 attempts'))).toBe('unknown');
    expect(classifyFailure(serverError(11000, 'E11000 duplicate key error'))).toBe('unknown');
    expect(classifyFailure(new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)('SASL authentication failed'))).toBe('unknown');
    expect(classifyFailure(new HandlerError('Internal server error', { status: 'error', message: 'Internal server error' }))).toBe('unknown');
    expect(classifyFailure('boom')).toBe('unknown');
    expect(classifyFailure(null)).toBe('unknown');
  });

  it('stops at cause cycles', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(classifyFailure(a)).toBe('unknown');
  });
});
