import { batchResponseStatus, processBatch, type ProcessBatchOptions } from './batch';
import { CollectorInputError } from './errors';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_ITEMS,
  MAX_BATCH_OUTPUT_BYTES,
  MAX_EVENT_BYTES,
  MAX_LISTED_ISSUES,
  MAX_LISTED_REJECTIONS,
  MAX_MESSAGE_BYTES,
  checkBodySize,
  jsonByteLength,
  utf8ByteLength,
} from './limits';
import { parseJsonBody } from './json';

const RECEIVED_AT = '2024-05-01T12:00:00.000Z';

function options(): ProcessBatchOptions {
  let n = 0;
  return {
    sourceId: 'src_1',
    receivedAt: new Date(RECEIVED_AT),
    idGenerator: () => `gen-${++n}`,
    request: { ip: '203.0.113.7', userAgent: 'UA' },
  };
}

function errorOf(fn: () => unknown): CollectorInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CollectorInputError) return err;
    throw err;
  }
  throw new Error('expected a CollectorInputError');
}

describe('processBatch', () => {
  it('accepts every valid item, each with its own type', () => {
    const result = processBatch(
      {
        batch: [
          { type: 'identify', userId: 'u1', traits: { email: 'a@b.c' }, messageId: 'm1' },
          { type: 'track', userId: 'u1', event: 'Product Viewed', properties: { sku: 'X' }, messageId: 'm2' },
          { type: 'page', anonymousId: 'a1', name: 'Home', messageId: 'm3' },
          { type: 'screen', anonymousId: 'a1', name: 'Cart' },
          { type: 'group', userId: 'u1', groupId: 'g1' },
          { type: 'alias', userId: 'u1', previousId: 'a1' },
        ],
      },
      options(),
    );
    expect(result.rejected).toEqual([]);
    expect(result.accepted.map((e) => [e.type, e.messageId])).toEqual([
      ['identify', 'm1'],
      ['track', 'm2'],
      ['page', 'm3'],
      ['screen', 'gen-1'],
      ['group', 'gen-2'],
      ['alias', 'gen-3'],
    ]);
    expect(batchResponseStatus(result)).toBe(200);
  });

  it('accepts the good items and reports the bad ones with index, messageId and errors', () => {
    const result = processBatch(
      {
        batch: [
          { type: 'track', anonymousId: 'a', event: 'Ok' },
          { type: 'track', anonymousId: 'a', messageId: 'bad-1' },
          'not an object',
          { anonymousId: 'a', event: 'E', messageId: 42 },
          { type: 'purchase', anonymousId: 'a' },
          { type: 'identify', messageId: 'bad-2', timestamp: 'soon' },
        ],
      },
      options(),
    );
    expect(result.accepted).toHaveLength(1);
    expect(result.accepted[0]?.event).toBe('Ok');
    expect(result.rejected).toEqual([
      { index: 1, messageId: 'bad-1', errors: [{ path: 'event', code: 'required', message: 'event must be a non-empty string' }] },
      { index: 2, errors: [{ path: '', code: 'invalid_body', message: 'batch item must be a JSON object' }] },
      {
        index: 3,
        messageId: '42',
        errors: [{ path: 'type', code: 'required', message: 'type is required (one of track, page, screen, identify, group, alias)' }],
      },
      { index: 4, errors: [{ path: 'type', code: 'invalid_value', message: 'type must be one of track, page, screen, identify, group, alias' }] },
      {
        index: 5,
        messageId: 'bad-2',
        errors: [
          { path: 'userId', code: 'required', message: 'userId or anonymousId is required' },
          { path: 'timestamp', code: 'invalid_date', message: 'timestamp must be an ISO-8601 date' },
        ],
      },
    ]);
    expect(batchResponseStatus(result)).toBe(200);
  });

  it('answers 400 when every item is rejected', () => {
    const result = processBatch({ batch: [{ type: 'track' }, { type: 'alias', userId: 'u' }] }, options());
    expect(result.accepted).toEqual([]);
    expect(result.rejected.map((r) => r.index)).toEqual([0, 1]);
    expect(batchResponseStatus(result)).toBe(400);
  });

  it('reports an oversized item per message and keeps the others', () => {
    const base = { type: 'track', anonymousId: 'a', event: 'Big', properties: { pad: '' } };
    const pad = (bytes: number) => ({ ...base, properties: { pad: 'x'.repeat(bytes - jsonByteLength(base)) } });
    const result = processBatch({ batch: [pad(MAX_MESSAGE_BYTES), pad(MAX_MESSAGE_BYTES + 1)] }, options());
    expect(result.accepted).toHaveLength(1);
    expect(result.rejected).toEqual([
      {
        index: 1,
        errors: [{ path: '', code: 'message_too_large', message: `message is ${MAX_MESSAGE_BYTES + 1} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes` }],
      },
    ]);
  });

  it('applies the envelope sentAt, context and integrations', () => {
    const result = processBatch(
      {
        sentAt: '2024-05-01T10:00:00.000Z',
        context: { library: { name: 'analytics-python' }, 'a.b': 1 },
        integrations: { All: false },
        writeKey: 'wk',
        batch: [
          { type: 'track', anonymousId: 'a', event: 'E', timestamp: '2024-05-01T09:59:00.000Z' },
          {
            type: 'track',
            anonymousId: 'a',
            event: 'E',
            timestamp: '2024-05-01T09:59:00.000Z',
            sentAt: '2024-05-01T09:59:30.000Z',
            context: { library: { name: 'own' } },
          },
        ],
      },
      options(),
    );
    const [first, second] = result.accepted;
    expect(first?.timestamp).toBe('2024-05-01T11:59:00.000Z');
    expect(first?.sentAt).toBe('2024-05-01T10:00:00.000Z');
    expect(first?.context).toEqual({ library: { name: 'analytics-python' }, 'a\uFF0Eb': 1, ip: '203.0.113.7', userAgent: 'UA' });
    expect(first?.integrations).toEqual({ All: false });
    expect(second?.timestamp).toBe('2024-05-01T11:59:30.000Z');
    expect(second?.context['library']).toEqual({ name: 'own' });
  });

  it.each([
    [null, 400, 'invalid_body', undefined],
    [[{ type: 'track' }], 400, 'invalid_body', undefined],
    [{}, 400, 'invalid_batch', 'batch'],
    [{ batch: {} }, 400, 'invalid_batch', 'batch'],
    [{ batch: [] }, 400, 'empty_batch', 'batch'],
    [{ batch: [{}], sentAt: 'later' }, 400, 'invalid_date', 'sentAt'],
    [{ batch: [{}], sentAt: '0000-01-01' }, 400, 'invalid_date', 'sentAt'],
    [{ batch: [{}], context: { traits: { x: [[1]] } } }, 400, 'nested_array', 'context.traits.x[0]'],
    [{ batch: [{}], integrations: { constructor: 1 } }, 400, 'prototype_pollution', 'integrations.constructor'],
    [{ batch: [{}], context: 'x' }, 400, 'invalid_type', 'context'],
    [{ batch: [{}], integrations: [1] }, 400, 'invalid_type', 'integrations'],
    [{ batch: [{}], context: { traits: 'x' } }, 400, 'invalid_type', 'context.traits'],
  ])('refuses the whole request for %j', (body, status, code, path) => {
    const err = errorOf(() => processBatch(body, options()));
    expect(err.status).toBe(status);
    expect(err.code).toBe(code);
    expect(err.path).toBe(path);
  });

  it('lists items with nested arrays, constructor keys, lone surrogates or bad dates as rejected', () => {
    const item = (over: Record<string, unknown>) => ({ type: 'track', anonymousId: 'a', event: 'E', ...over });
    const result = processBatch(
      {
        batch: [
          item({}),
          item({ properties: { x: [[1]] } }),
          item({ traits: { constructor: 'Bob' } }),
          item({ event: 'prototype' }),
          item({ anonymousId: 'x\ud800' }),
          item({ timestamp: '0000-01-01', sentAt: '9999-12-31' }),
        ],
      },
      options(),
    );
    expect(result.accepted).toHaveLength(1);
    expect(result.rejected.map((r) => [r.index, r.errors[0]?.code, r.errors[0]?.path])).toEqual([
      [1, 'nested_array', 'properties.x[0]'],
      [2, 'prototype_pollution', 'traits.constructor'],
      [3, 'prototype_pollution', 'event'],
      [4, 'invalid_string', 'anonymousId'],
      [5, 'invalid_date', 'timestamp'],
    ]);
  });

  it('refuses more than MAX_BATCH_ITEMS items with 413 naming the count, before validating any', () => {
    const item = { type: 'track', anonymousId: 'a', event: 'E' };
    expect(processBatch({ batch: Array.from({ length: MAX_BATCH_ITEMS }, () => item) }, options()).accepted).toHaveLength(MAX_BATCH_ITEMS);
    const err = errorOf(() => processBatch({ batch: Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => ({})) }, options()));
    expect(err.toJSON()).toEqual({
      code: 'batch_too_large',
      message: `batch has ${MAX_BATCH_ITEMS + 1} messages; the limit is ${MAX_BATCH_ITEMS} messages per batch`,
      path: 'batch',
    });
    expect(err.status).toBe(413);
  });

  it.each(['context', 'integrations'])('refuses a batch-level %s over MAX_MESSAGE_BYTES (it is copied into every message)', (field) => {
    const within = { batch: [{ type: 'track', anonymousId: 'a', event: 'E' }], [field]: { k: 'x'.repeat(MAX_MESSAGE_BYTES - 10) } };
    expect(processBatch(within, options()).accepted).toHaveLength(1);
    const err = errorOf(() => processBatch({ ...within, [field]: { k: 'x'.repeat(MAX_MESSAGE_BYTES) } }, options()));
    expect([err.status, err.code, err.path]).toEqual([413, 'message_too_large', field]);
    expect(err.message).toMatch(new RegExp(`^the batch's ${field} is \\d+ bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`));
  });

  it("refuses each item the batch's context takes over MAX_EVENT_BYTES, naming it", () => {
    const context = { k: 'x'.repeat(MAX_MESSAGE_BYTES - 100) };
    const small = { type: 'track', anonymousId: 'a', event: 'E' };
    const big = { ...small, properties: { pad: 'y'.repeat(3_000) } };
    const result = processBatch({ context, batch: [small, big, small] }, options());
    expect(result.accepted).toHaveLength(2);
    expect(result.rejected).toEqual([{ index: 1, errors: [expect.objectContaining({ path: '', code: 'message_too_large' })] }]);
    expect(result.rejected[0]?.errors[0]?.message).toMatch(
      new RegExp(`^the event is \\d+ bytes with the batch's context .* the limit is ${MAX_EVENT_BYTES} bytes`),
    );
  });

  it("bounds a request's output: a batch-level context copied into many items is a 413, not gigabytes of events", () => {
    // ~32 KB of context, 2,500 tiny items: ~80 MB of events from a body that gzips to a few KB
    const body = {
      context: { k: 'x'.repeat(MAX_MESSAGE_BYTES - 100) },
      batch: Array.from({ length: MAX_BATCH_ITEMS }, () => ({ type: 'track', anonymousId: 'a', event: 'E' })),
    };
    const err = errorOf(() => processBatch(body, options()));
    expect([err.status, err.code, err.path]).toEqual([413, 'batch_too_large', 'batch']);
    expect(err.message).toMatch(new RegExp(`more than ${MAX_BATCH_OUTPUT_BYTES} bytes by message \\d+ \\(each carries the batch's context`));
    // the same items without the context are far within the bound
    expect(processBatch({ batch: body.batch }, options()).accepted).toHaveLength(MAX_BATCH_ITEMS);
  });

  it('lists the first MAX_LISTED_REJECTIONS rejected items and counts them all', () => {
    const result = processBatch(
      { batch: [...Array.from({ length: MAX_BATCH_ITEMS - 1 }, () => ({})), { type: 'track', anonymousId: 'a', event: 'E' }] },
      options(),
    );
    expect(result.accepted).toHaveLength(1);
    expect(result.rejected.map((r) => r.index)).toEqual(Array.from({ length: MAX_LISTED_REJECTIONS }, (_, i) => i));
    expect([result.rejectedCount, result.issueCount]).toEqual([MAX_BATCH_ITEMS - 1, MAX_BATCH_ITEMS - 1]);
    expect(batchResponseStatus(result)).toBe(200);
  });

  it('lists no more rejected items once MAX_LISTED_ISSUES issues are listed (the first always whole)', () => {
    // each item: no id, no event, and 64 external ids without id and type (2 issues each)
    const item = { type: 'track', context: { externalIds: Array.from({ length: 64 }, () => ({})) } };
    const result = processBatch({ batch: Array.from({ length: 50 }, () => item) }, options());
    const perItem = result.rejected[0]?.errors.length ?? 0;
    expect(perItem).toBe(2 + 128);
    expect(result.rejected).toHaveLength(Math.floor(MAX_LISTED_ISSUES / perItem));
    expect([result.rejectedCount, result.issueCount]).toEqual([50, 50 * perItem]);
  });

  it('refuses a polluted envelope context', () => {
    const body: unknown = JSON.parse('{"batch":[{}],"context":{"__proto__":{"x":1}}}');
    expect(errorOf(() => processBatch(body, options())).code).toBe('prototype_pollution');
  });
});

describe('batch body size', () => {
  /** A batch body of exactly `bytes` UTF-8 bytes. */
  function batchBody(bytes: number): string {
    const items: string[] = [];
    const item = JSON.stringify({ type: 'track', anonymousId: 'a', event: 'E', properties: { pad: 'x'.repeat(30_000) } });
    let body = '';
    while (true) {
      const next = `{"batch":[${[...items, item].join(',')}]}`;
      if (utf8ByteLength(next) > bytes) break;
      items.push(item);
      body = next;
    }
    const missing = bytes - utf8ByteLength(body);
    return body.slice(0, -1) + `,"pad":"${'y'.repeat(missing - 9)}"}`;
  }

  it('accepts a body of exactly MAX_BATCH_BYTES and refuses one byte more', () => {
    const atLimit = batchBody(MAX_BATCH_BYTES);
    expect(utf8ByteLength(atLimit)).toBe(MAX_BATCH_BYTES);
    expect(checkBodySize(utf8ByteLength(atLimit), 'batch')).toBeUndefined();
    const result = processBatch(parseJsonBody(atLimit), options());
    expect(result.accepted.length).toBe(17);
    expect(result.rejected).toEqual([]);

    const over = checkBodySize(MAX_BATCH_BYTES + 1, 'batch');
    expect(over).toBeInstanceOf(CollectorInputError);
    expect(over?.status).toBe(413);
    expect(over?.code).toBe('batch_too_large');
  });
});
