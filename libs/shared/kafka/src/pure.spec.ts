import { decodeHeaders, toInboundMessage } from './consumer-host';
import { HandlerError, toError, UnknownTopicError, ProducerSendError } from './errors';
import { KafkaJSAggregateError, KafkaJSProtocolError, KafkaJSRequestTimeoutError } from 'kafkajs';
import { isTransientCreateFailure, topicConfigEntries } from './provisioner';
import { kafkaLogLevelFor } from './client';
import { isDefiniteRejection } from './producer';

describe('message decoding', () => {
  it('decodes headers to strings (last value of repeated headers wins)', () => {
    expect(decodeHeaders({ a: Buffer.from('x'), b: 'y', c: [Buffer.from('1'), '2'], d: undefined })).toEqual({ a: 'x', b: 'y', c: '2' });
    expect(decodeHeaders(undefined)).toEqual({});
  });

  it('maps a kafkajs message to an InboundMessage with messageId / correlationId', () => {
    const m = toInboundMessage('eventsRaw', 'p.events.raw', 3, {
      key: Buffer.from('anon-1'),
      value: Buffer.from('{}'),
      timestamp: '1700000000000',
      attributes: 0,
      offset: '42',
      headers: { messageId: Buffer.from('m-1'), correlationId: Buffer.from('c-1') },
    });
    expect(m).toEqual({
      topic: 'p.events.raw',
      topicKey: 'eventsRaw',
      partition: 3,
      offset: '42',
      key: 'anon-1',
      value: Buffer.from('{}'),
      headers: { messageId: 'm-1', correlationId: 'c-1' },
      timestamp: 1_700_000_000_000,
      messageId: 'm-1',
      correlationId: 'c-1',
    });
    const bare = toInboundMessage('eventsRaw', 't', 0, { key: null, value: null, timestamp: '1', attributes: 0, offset: '0', headers: {} });
    expect(bare.key).toBeNull();
    expect(bare.messageId).toBeUndefined();
  });
});

describe('errors', () => {
  it('turns rejection values into Errors', () => {
    const e = new Error('x');
    expect(toError(e)).toBe(e);
    const nest = toError({ status: 'error', message: 'Internal server error' });
    expect(nest).toBeInstanceOf(HandlerError);
    expect(nest.message).toBe('Internal server error');
    expect(toError('boom').message).toBe('boom');
    expect(toError({ a: 1 }).message).toBe('{"a":1}');
    expect(new UnknownTopicError('t')).toBeInstanceOf(ProducerSendError);
  });
});

describe('topic config', () => {
  it('derives cleanup.policy, retention.ms and min.insync.replicas from the spec', () => {
    expect(topicConfigEntries('segmentsMembership', 3)).toEqual([
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'retention.ms', value: '-1' },
      { name: 'min.insync.replicas', value: '2' },
    ]);
    expect(topicConfigEntries('eventsRaw', 1)).toContainEqual({ name: 'min.insync.replicas', value: '1' });
    expect(topicConfigEntries('eventsRaw', 1)).toContainEqual({ name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) });
  });

  it('maps pino levels to kafkajs levels', () => {
    expect(kafkaLogLevelFor('debug')).toBe(5);
    expect(kafkaLogLevelFor('info')).toBe(4);
    expect(kafkaLogLevelFor('warn')).toBe(2);
    expect(kafkaLogLevelFor('fatal')).toBe(1);
    expect(kafkaLogLevelFor('silent')).toBe(0);
  });
});

describe('isTransientCreateFailure', () => {
  const refusal = (type: string) => new KafkaJSProtocolError({ message: type, type, code: 0, retriable: false } as never);
  const timeout = () => new KafkaJSRequestTimeoutError('Request CreateTopics(key: 19, version: 3) timed out', {} as never);

  it('retries a creation the broker did not answer within the request timeout', () => {
    expect(isTransientCreateFailure(timeout())).toBe(true);
  });

  it('retries transient refusals, alone or aggregated, and nothing else', () => {
    expect(isTransientCreateFailure(refusal('NOT_CONTROLLER'))).toBe(true);
    expect(isTransientCreateFailure(new KafkaJSAggregateError('create', [refusal('REQUEST_TIMED_OUT'), refusal('INVALID_REPLICATION_FACTOR')]))).toBe(true);
    expect(isTransientCreateFailure(new KafkaJSAggregateError('create', [refusal('NOT_CONTROLLER'), refusal('POLICY_VIOLATION')]))).toBe(false);
    expect(isTransientCreateFailure(refusal('INVALID_CONFIG'))).toBe(false);
    expect(isTransientCreateFailure(new Error('something else'))).toBe(false);
  });
});

describe('isDefiniteRejection', () => {
  const protocol = (type: string, retriable: boolean) => Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type, retriable });
  const wrapped = (cause: Error) => Object.assign(new Error('wrapped'), { name: 'KafkaJSNonRetriableError', cause });

  it('is true only for non-retriable broker rejections', () => {
    expect(isDefiniteRejection(wrapped(protocol('MESSAGE_TOO_LARGE', false)))).toBe(true);
    expect(isDefiniteRejection(protocol('INVALID_RECORD', false))).toBe(true);
  });

  it('is false when the outcome is unknown or the idempotence state broke', () => {
    expect(isDefiniteRejection(wrapped(Object.assign(new Error('refused'), { name: 'KafkaJSConnectionError' })))).toBe(false);
    expect(isDefiniteRejection(wrapped(protocol('NOT_ENOUGH_REPLICAS', true)))).toBe(false);
    expect(isDefiniteRejection(wrapped(protocol('OUT_OF_ORDER_SEQUENCE_NUMBER', false)))).toBe(false);
    expect(isDefiniteRejection(protocol('UNKNOWN_PRODUCER_ID', false))).toBe(false);
    expect(isDefiniteRejection(new Error('timeout'))).toBe(false);
  });
});
