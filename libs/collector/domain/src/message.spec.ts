import { Schemas, validatePayload } from '@mosaic/contracts';
import { MAX_EVENT_BYTES, MAX_ID_LENGTH, MAX_MESSAGE_BYTES, MAX_NAME_LENGTH, MAX_OBJECT_DEPTH, jsonByteLength } from './limits';
import {
  type MessageType,
  type NormalizedEvent,
  type ValidateOptions,
  type ValidationResult,
  dedupKey,
  isMessageType,
  partitionKey,
  validateMessage,
} from './message';
import { toInputError } from './errors';

const RECEIVED_AT = '2024-05-01T12:00:00.000Z';

function options(over: Partial<ValidateOptions> = {}): ValidateOptions {
  let n = 0;
  return {
    sourceId: 'src_1',
    receivedAt: new Date(RECEIVED_AT),
    idGenerator: () => `gen-${++n}`,
    request: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 test' },
    ...over,
  };
}

function ok(input: unknown, type: MessageType = 'track', opts = options()): NormalizedEvent {
  const result = validateMessage(input, type, opts);
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.errors)}`);
  return result.message;
}

function bad(input: unknown, type: MessageType = 'track', opts = options()): Extract<ValidationResult, { ok: false }> {
  const result = validateMessage(input, type, opts);
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.message)}`);
  return result;
}

/** A track message whose compact JSON is exactly `bytes` long. */
function trackOfSize(bytes: number): Record<string, unknown> {
  const base = { type: 'track', event: 'Big', anonymousId: 'a1', properties: { pad: '' } };
  const padding = bytes - jsonByteLength(base);
  return { ...base, properties: { pad: 'x'.repeat(padding) } };
}

describe('validateMessage: a complete track', () => {
  it('normalises every field', () => {
    const event = ok({
      type: 'track',
      messageId: 'm-1',
      anonymousId: 'anon-1',
      userId: 'user-1',
      event: 'Order Completed',
      properties: { order_id: 'o1', revenue: 42.5, products: [{ sku: 'A', 'price.eur': 10 }] },
      context: {
        library: { name: '@segment/analytics-node', version: '2.3.0' },
        page: { path: '/checkout', referrer: 'https://google.com' },
        campaign: { name: 'spring', source: 'newsletter' },
        externalIds: [{ id: 'crm-9', type: 'crm_id', collection: 'users', encoding: 'none' }],
      },
      integrations: { All: true, 'Segment.io': false },
      timestamp: '2024-05-01T11:59:55.000Z',
      sentAt: '2024-05-01T12:00:00.000Z',
      _metadata: { bundled: ['Segment.io'] },
      writeKey: 'wk',
      channel: 'server',
    });
    expect(event).toEqual({
      type: 'track',
      messageId: 'm-1',
      anonymousId: 'anon-1',
      userId: 'user-1',
      event: 'Order Completed',
      properties: { order_id: 'o1', revenue: 42.5, products: [{ sku: 'A', 'price\uFF0Eeur': 10 }] },
      traits: {},
      context: {
        library: { name: '@segment/analytics-node', version: '2.3.0' },
        page: { path: '/checkout', referrer: 'https://google.com' },
        campaign: { name: 'spring', source: 'newsletter' },
        externalIds: [{ id: 'crm-9', type: 'crm_id', collection: 'users', encoding: 'none' }],
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0 test',
      },
      integrations: { All: true, 'Segment\uFF0Eio': false },
      timestamp: '2024-05-01T11:59:55.000Z',
      originalTimestamp: '2024-05-01T11:59:55.000Z',
      sentAt: '2024-05-01T12:00:00.000Z',
      receivedAt: RECEIVED_AT,
      sourceId: 'src_1',
    });
  });

  it('does not mutate the input', () => {
    const input = { event: 'E', anonymousId: 'a', properties: { 'a.b': 1 }, context: {} };
    const copy = JSON.parse(JSON.stringify(input)) as unknown;
    ok(input);
    expect(input).toEqual(copy);
  });
});

describe('validateMessage: identity rules', () => {
  it.each<MessageType>(['track', 'page', 'screen', 'identify', 'group'])('%s needs userId or anonymousId', (type) => {
    const result = bad({ event: 'E', groupId: 'g' }, type);
    expect(result.error).toEqual({ path: 'userId', code: 'required', message: 'userId or anonymousId is required' });
  });

  it('accepts userId alone and anonymousId alone', () => {
    expect(ok({ event: 'E', userId: 'u' }).userId).toBe('u');
    const anon = ok({ event: 'E', anonymousId: 'a' });
    expect(anon.anonymousId).toBe('a');
    expect('userId' in anon).toBe(false);
  });

  it('converts numeric ids to strings as Segment does', () => {
    const event = ok({ event: 'E', userId: 12345, anonymousId: 0, messageId: 7 });
    expect(event.userId).toBe('12345');
    expect(event.anonymousId).toBe('0');
    expect(event.messageId).toBe('7');
    expect(ok({ groupId: 99, userId: 1.5 }, 'group').groupId).toBe('99');
  });

  it.each([null, '', '   '])('treats %j as absent', (value) => {
    expect(bad({ event: 'E', userId: value }).error.message).toBe('userId or anonymousId is required');
    expect(ok({ event: 'E', userId: value, anonymousId: 'a' })).not.toHaveProperty('userId');
  });

  it.each([' 0', 'anonymous', 'NULL', 'guest', -1])(
    'does not count the placeholder %j as the identifier a message needs (identity could not resolve by it)',
    (value) => {
      expect(bad({ event: 'E', userId: value }).error).toEqual({
        path: 'userId',
        code: 'required',
        message: `userId or anonymousId is required (${JSON.stringify(String(value))} stands for no identifier)`,
      });
      expect(bad({ event: 'E', userId: value, anonymousId: 'unknown' }).error.message).toMatch(/ and "unknown" stand for no identifier/);
      expect(ok({ event: 'E', userId: value, anonymousId: 'a-1' }).anonymousId).toBe('a-1');
      expect(bad({ userId: value, previousId: 'a-1' }, 'alias').error.message).toMatch(/^userId is required for alias \(.* stands for no identifier\)$/);
    },
  );

  it.each([true, {}, ['u']])('rejects a userId of the wrong type (%j)', (value) => {
    expect(bad({ event: 'E', userId: value }).errors).toEqual([{ path: 'userId', code: 'invalid_type', message: 'userId must be a string' }]);
  });

  it('rejects an anonymousId of the wrong type even when userId is fine', () => {
    expect(bad({ event: 'E', userId: 'u', anonymousId: { a: 1 } }).error).toEqual({
      path: 'anonymousId',
      code: 'invalid_type',
      message: 'anonymousId must be a string',
    });
  });

  it(`accepts ids of exactly ${MAX_ID_LENGTH} characters and rejects longer ones`, () => {
    expect(ok({ event: 'E', userId: 'u'.repeat(MAX_ID_LENGTH) }).userId).toHaveLength(MAX_ID_LENGTH);
    expect(bad({ event: 'E', userId: 'u'.repeat(MAX_ID_LENGTH + 1) }).error).toEqual({
      path: 'userId',
      code: 'too_long',
      message: `userId must be at most ${MAX_ID_LENGTH} characters`,
    });
    expect(bad({ event: 'E', anonymousId: 'a', messageId: 'm'.repeat(MAX_ID_LENGTH + 1) }).error.path).toBe('messageId');
  });
});

describe('validateMessage: per-type rules', () => {
  it('uses the route type and ignores a type in the body', () => {
    const event = ok({ type: 'identify', event: 'Clicked', anonymousId: 'a' }, 'track');
    expect(event.type).toBe('track');
    expect(event.event).toBe('Clicked');
  });

  it.each([
    [{ anonymousId: 'a' }, 'required'],
    [{ anonymousId: 'a', event: '' }, 'invalid_value'],
    [{ anonymousId: 'a', event: '  ' }, 'invalid_value'],
    [{ anonymousId: 'a', event: 42 }, 'invalid_type'],
    [{ anonymousId: 'a', event: null }, 'required'],
  ])('track requires a non-empty event: %j', (input, code) => {
    expect(bad(input, 'track').error).toEqual({ path: 'event', code, message: 'event must be a non-empty string' });
  });

  it(`caps event at ${MAX_NAME_LENGTH} characters`, () => {
    expect(ok({ anonymousId: 'a', event: 'e'.repeat(MAX_NAME_LENGTH) }).event).toHaveLength(MAX_NAME_LENGTH);
    expect(bad({ anonymousId: 'a', event: 'e'.repeat(MAX_NAME_LENGTH + 1) }).error.code).toBe('too_long');
  });

  it('page and screen keep name and category', () => {
    const page = ok({ anonymousId: 'a', name: 'Home', category: 'Landing', properties: { path: '/' } }, 'page');
    expect(page).toMatchObject({ type: 'page', name: 'Home', category: 'Landing', properties: { path: '/' } });
    const screen = ok({ anonymousId: 'a', name: 'Cart' }, 'screen');
    expect(screen.name).toBe('Cart');
    expect(screen).not.toHaveProperty('category');
    expect(ok({ anonymousId: 'a' }, 'page')).not.toHaveProperty('name');
  });

  it('page rejects a non-string name or category', () => {
    expect(bad({ anonymousId: 'a', name: 3 }, 'page').error).toEqual({ path: 'name', code: 'invalid_type', message: 'name must be a string' });
    expect(bad({ anonymousId: 'a', category: {} }, 'screen').error.path).toBe('category');
    expect(bad({ anonymousId: 'a', name: 'n'.repeat(MAX_NAME_LENGTH + 1) }, 'page').error.code).toBe('too_long');
  });

  it('drops fields that belong to other types', () => {
    const page = ok({ anonymousId: 'a', event: 'X', groupId: 'g', previousId: 'p', name: 'Home' }, 'page');
    expect(page).not.toHaveProperty('event');
    expect(page).not.toHaveProperty('groupId');
    expect(page).not.toHaveProperty('previousId');
    expect(ok({ anonymousId: 'a', event: 'E', name: 'N' }, 'track')).not.toHaveProperty('name');
  });

  it('identify keeps traits, with $set/$set_once/$unset kept and others escaped', () => {
    const event = ok(
      { userId: 'u', traits: { email: 'a@b.c', $set: { 'plan.name': 'pro' }, $set_once: { first: 1 }, $unset: ['x.y'], $other: 1 } },
      'identify',
    );
    expect(event.traits).toEqual({
      email: 'a@b.c',
      $set: { 'plan\uFF0Ename': 'pro' },
      $set_once: { first: 1 },
      $unset: ['x\uFF0Ey'],
      '\uFF04other': 1,
    });
  });

  it('group requires groupId', () => {
    expect(ok({ userId: 'u', groupId: 'acme', traits: { name: 'Acme' } }, 'group')).toMatchObject({ groupId: 'acme', traits: { name: 'Acme' } });
    expect(bad({ userId: 'u' }, 'group').error).toEqual({ path: 'groupId', code: 'required', message: 'groupId is required for group' });
    expect(bad({ userId: 'u', groupId: [] }, 'group').error).toEqual({ path: 'groupId', code: 'invalid_type', message: 'groupId must be a string' });
  });

  it('alias requires userId and previousId', () => {
    const alias = ok({ userId: 'u', previousId: 'anon-1' }, 'alias');
    expect(alias).toMatchObject({ type: 'alias', userId: 'u', previousId: 'anon-1' });
    expect(bad({ anonymousId: 'a', previousId: 'p' }, 'alias').errors).toEqual([{ path: 'userId', code: 'required', message: 'userId is required for alias' }]);
    expect(bad({ userId: 'u' }, 'alias').errors).toEqual([{ path: 'previousId', code: 'required', message: 'previousId is required for alias' }]);
    expect(bad({}, 'alias').errors.map((e) => e.path)).toEqual(['userId', 'previousId']);
    expect(ok({ userId: 'u', previousId: 17 }, 'alias').previousId).toBe('17');
  });
});

describe('validateMessage: objects', () => {
  it.each(['properties', 'traits', 'context', 'integrations'])('%s must be an object', (field) => {
    for (const value of ['x', 3, [1], true]) {
      expect(bad({ anonymousId: 'a', event: 'E', [field]: value }).error).toEqual({
        path: field,
        code: 'invalid_type',
        message: `${field} must be an object`,
      });
    }
  });

  it('treats null objects as absent', () => {
    const event = ok({ anonymousId: 'a', event: 'E', properties: null, traits: null, context: null, integrations: null });
    expect(event.properties).toEqual({});
    expect(event.traits).toEqual({});
    expect(event.context).toEqual({ ip: '203.0.113.7', userAgent: 'Mozilla/5.0 test' });
    expect(event).not.toHaveProperty('integrations');
  });

  it('escapes operator-like keys in properties, traits and context at any depth', () => {
    const event = ok({
      anonymousId: 'a',
      event: 'E',
      properties: { $where: 'x', list: [{ 'a.b': { $gt: 1 } }] },
      context: { 'x.y': 1, traits: { $set: { 'k.k': 1 }, $ne: 2 }, page: { 'q.s': 'v' } },
    });
    expect(event.properties).toEqual({ '\uFF04where': 'x', list: [{ 'a\uFF0Eb': { '\uFF04gt': 1 } }] });
    expect(event.context['x\uFF0Ey']).toBe(1);
    expect(event.context['traits']).toEqual({ $set: { 'k\uFF0Ek': 1 }, '\uFF04ne': 2 });
    expect(event.context['page']).toEqual({ 'q\uFF0Es': 'v' });
  });

  it('reports too_deep with the path', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < MAX_OBJECT_DEPTH; i++) deep = { n: deep };
    expect(ok({ anonymousId: 'a', event: 'E', properties: deep }).properties).toBeDefined();
    const result = bad({ anonymousId: 'a', event: 'E', properties: { n: deep } });
    expect(result.error.code).toBe('too_deep');
    expect(result.error.path).toBe('properties' + '.n'.repeat(MAX_OBJECT_DEPTH));
    expect(toInputError(result.error).status).toBe(400);
  });

  it('reports prototype pollution inside an already-parsed message', () => {
    const input: unknown = JSON.parse('{"anonymousId":"a","event":"E","traits":{"__proto__":{"admin":true}}}');
    expect(bad(input).error).toMatchObject({ path: 'traits.__proto__', code: 'prototype_pollution' });
  });

  it('collects several issues at once', () => {
    const result = bad({ event: '', properties: 'x', timestamp: 'nope' });
    expect(result.errors.map((e) => e.path)).toEqual(['userId', 'event', 'properties', 'timestamp']);
    expect(result.error).toBe(result.errors[0]);
  });
});

describe('validateMessage: context', () => {
  it('fills ip and userAgent from the request only when absent', () => {
    expect(ok({ anonymousId: 'a', event: 'E', context: { ip: '198.51.100.1' } }).context).toEqual({
      ip: '198.51.100.1',
      userAgent: 'Mozilla/5.0 test',
    });
    expect(ok({ anonymousId: 'a', event: 'E', context: { ip: '', userAgent: null } }).context).toEqual({
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0 test',
    });
    expect(ok({ anonymousId: 'a', event: 'E' }, 'track', options({ request: undefined })).context).toEqual({});
  });

  it('keeps context.library as sent', () => {
    const library = { name: 'analytics.js', version: 'next-1.70.0', extra: { x: 1 } };
    expect(ok({ anonymousId: 'a', event: 'E', context: { library } }).context['library']).toEqual(library);
  });

  it.each([
    [{ page: 'x' }, 'context.page', 'context.page must be an object'],
    [{ campaign: [1] }, 'context.campaign', 'context.campaign must be an object'],
    [{ library: 'x' }, 'context.library', 'context.library must be an object'],
    [{ traits: 1 }, 'context.traits', 'context.traits must be an object'],
    [{ ip: 1 }, 'context.ip', 'context.ip must be a string'],
    [{ userAgent: {} }, 'context.userAgent', 'context.userAgent must be a string'],
    [{ externalIds: {} }, 'context.externalIds', 'context.externalIds must be an array'],
    [{ externalIds: ['x'] }, 'context.externalIds[0]', 'context.externalIds[0] must be an object'],
    [{ externalIds: [{ type: 'crm' }] }, 'context.externalIds[0].id', 'context.externalIds[0].id is required'],
    [{ externalIds: [{ id: true, type: 'crm' }] }, 'context.externalIds[0].id', 'context.externalIds[0].id must be a string'],
    [{ externalIds: [{ id: 'x' }] }, 'context.externalIds[0].type', 'context.externalIds[0].type is required'],
    [{ externalIds: [{ id: 'x', type: '' }] }, 'context.externalIds[0].type', 'context.externalIds[0].type must be a non-empty string'],
    [
      { externalIds: [{ id: 'x', type: 't', collection: 1 }] },
      'context.externalIds[0].collection',
      'context.externalIds[0].collection must be a non-empty string',
    ],
  ])('validates %j', (context, path, message) => {
    expect(bad({ anonymousId: 'a', event: 'E', context }).error).toMatchObject({ path, message });
  });

  it('normalises numeric external ids and caps their number', () => {
    const event = ok({ anonymousId: 'a', event: 'E', context: { externalIds: [{ id: 42, type: 'pos_customer_id', collection: 'users' }] } });
    expect(event.context['externalIds']).toEqual([{ id: '42', type: 'pos_customer_id', collection: 'users' }]);
    const many = Array.from({ length: 65 }, (_, i) => ({ id: `x${i}`, type: 't' }));
    expect(bad({ anonymousId: 'a', event: 'E', context: { externalIds: many } }).error.code).toBe('too_many');
  });
});

describe('validateMessage: dates and clock skew', () => {
  it('uses receivedAt when there is no timestamp', () => {
    const event = ok({ anonymousId: 'a', event: 'E' });
    expect(event.timestamp).toBe(RECEIVED_AT);
    expect(event.receivedAt).toBe(RECEIVED_AT);
    expect(event).not.toHaveProperty('originalTimestamp');
    expect(event).not.toHaveProperty('sentAt');
  });

  it('corrects a skewed client clock with the message sentAt', () => {
    // Client clock 2 h late; event 30 s before sending.
    const event = ok({ anonymousId: 'a', event: 'E', timestamp: '2024-05-01T09:59:30.000Z', sentAt: '2024-05-01T10:00:00.000Z' });
    expect(event.timestamp).toBe('2024-05-01T11:59:30.000Z');
    expect(event.originalTimestamp).toBe('2024-05-01T09:59:30.000Z');
    expect(event.sentAt).toBe('2024-05-01T10:00:00.000Z');
  });

  it('corrects with the batch envelope sentAt when the message has none', () => {
    const opts = options({ envelope: { sentAt: '2024-05-01T10:00:00.000Z' } });
    const event = ok({ anonymousId: 'a', event: 'E', timestamp: '2024-05-01T09:59:30.000Z' }, 'track', opts);
    expect(event.timestamp).toBe('2024-05-01T11:59:30.000Z');
    expect(event.sentAt).toBe('2024-05-01T10:00:00.000Z');
  });

  it("prefers the message's own sentAt over the envelope's", () => {
    const opts = options({ envelope: { sentAt: '2024-05-01T12:00:00.000Z' } });
    const event = ok({ anonymousId: 'a', event: 'E', timestamp: '2024-05-01T09:59:30.000Z', sentAt: '2024-05-01T10:00:00.000Z' }, 'track', opts);
    expect(event.timestamp).toBe('2024-05-01T11:59:30.000Z');
    expect(event.sentAt).toBe('2024-05-01T10:00:00.000Z');
  });

  it('keeps the timestamp as sent (normalised to UTC) without any sentAt', () => {
    const event = ok({ anonymousId: 'a', event: 'E', timestamp: '2024-04-30T08:00:00+02:00' });
    expect(event.timestamp).toBe('2024-04-30T06:00:00.000Z');
    expect(event.originalTimestamp).toBe('2024-04-30T06:00:00.000Z');
  });

  // The contract's @IsISO8601 refuses a lowercase `t`, and Date.parse reads a time without zone as
  // local time: the client's times are kept as the instant they name, in one canonical form.
  it.each([
    ['2024-05-01t09:59:30Z', '2024-05-01T09:59:30.000Z'],
    ['2024-05-01T09:59:30z', '2024-05-01T09:59:30.000Z'],
    ['2024-05-01 09:59:30Z', '2024-05-01T09:59:30.000Z'],
    ['2024-05-01t11:59:30+02:00', '2024-05-01T09:59:30.000Z'],
    ['2024-05-01T04:59:30-0500', '2024-05-01T09:59:30.000Z'],
    ['2024-05-01T11:59:30+02', '2024-05-01T09:59:30.000Z'],
    ['2024-05-01T09:59:30.123456789Z', '2024-05-01T09:59:30.123Z'],
    ['2024-05-01T09:59:30,5Z', '2024-05-01T09:59:30.500Z'],
    ['2024-05-01t09:59', '2024-05-01T09:59:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
  ])('writes the client times %s in canonical form (%s)', (sent, canonical) => {
    const own = ok({ anonymousId: 'a', event: 'E', originalTimestamp: sent, timestamp: '2024-05-01T10:00:00Z', sentAt: sent });
    expect([own.originalTimestamp, own.sentAt]).toEqual([canonical, canonical]);
    const envelope = ok({ anonymousId: 'a', event: 'E', timestamp: sent }, 'track', options({ envelope: { sentAt: sent } }));
    expect([envelope.originalTimestamp, envelope.sentAt]).toEqual([canonical, canonical]);
    expect(() => validatePayload(Schemas.rawEvent, own)).not.toThrow();
    expect(() => validatePayload(Schemas.rawEvent, envelope)).not.toThrow();
  });

  it('clamps future timestamps to receivedAt and keeps the original', () => {
    const event = ok({ anonymousId: 'a', event: 'E', timestamp: '2031-01-01T00:00:00Z' });
    expect(event.timestamp).toBe(RECEIVED_AT);
    expect(event.originalTimestamp).toBe('2031-01-01T00:00:00.000Z');
    const afterSend = ok({ anonymousId: 'a', event: 'E', timestamp: '2024-05-01T10:01:00Z', sentAt: '2024-05-01T10:00:00Z' });
    expect(afterSend.timestamp).toBe(RECEIVED_AT);
  });

  it('corrects from originalTimestamp when timestamp is absent', () => {
    const event = ok({ anonymousId: 'a', event: 'E', originalTimestamp: '2024-05-01T09:59:30.000Z', sentAt: '2024-05-01T10:00:00.000Z' });
    expect(event.timestamp).toBe('2024-05-01T11:59:30.000Z');
    expect(event.originalTimestamp).toBe('2024-05-01T09:59:30.000Z');
  });

  it('keeps a sent originalTimestamp rather than the timestamp', () => {
    const event = ok({ anonymousId: 'a', event: 'E', timestamp: '2024-05-01T11:00:00Z', originalTimestamp: '2024-05-01T10:00:00Z' });
    expect(event.timestamp).toBe('2024-05-01T11:00:00.000Z');
    expect(event.originalTimestamp).toBe('2024-05-01T10:00:00.000Z');
  });

  it('uses receivedAt when only sentAt is present', () => {
    const event = ok({ anonymousId: 'a', event: 'E', sentAt: '2024-05-01T10:00:00Z' });
    expect(event.timestamp).toBe(RECEIVED_AT);
    expect(event.sentAt).toBe('2024-05-01T10:00:00.000Z');
  });

  it.each(['timestamp', 'sentAt', 'originalTimestamp'])('rejects an unparseable %s', (field) => {
    for (const value of ['yesterday', 1714564800000, '2024-02-30T00:00:00Z', {}]) {
      expect(bad({ anonymousId: 'a', event: 'E', [field]: value }).error).toEqual({
        path: field,
        code: 'invalid_date',
        message: `${field} must be an ISO-8601 date`,
      });
    }
  });
});

describe('validateMessage: messageId and envelope defaults', () => {
  it('generates a messageId only when absent', () => {
    const opts = options();
    expect(ok({ anonymousId: 'a', event: 'E' }, 'track', opts).messageId).toBe('gen-1');
    expect(ok({ anonymousId: 'a', event: 'E', messageId: '' }, 'track', opts).messageId).toBe('gen-2');
    expect(ok({ anonymousId: 'a', event: 'E', messageId: 'mine' }, 'track', opts).messageId).toBe('mine');
  });

  it('overlays the message context and integrations on the envelope ones, copying per event', () => {
    const envelope = { context: { library: { name: 'lib' }, locale: 'en' }, integrations: { All: false, Mixpanel: true } };
    const opts = options({ envelope });
    const first = ok({ anonymousId: 'a', event: 'E', context: { locale: 'fr' }, integrations: { All: true } }, 'track', opts);
    expect(first.context).toEqual({ library: { name: 'lib' }, locale: 'fr', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 test' });
    expect(first.integrations).toEqual({ All: true, Mixpanel: true });
    const second = ok({ anonymousId: 'b', event: 'E' }, 'track', opts);
    expect(second.context['library']).not.toBe(first.context['library']);
    expect(second.context['library']).not.toBe(envelope.context.library);
    expect(envelope.context).toEqual({ library: { name: 'lib' }, locale: 'en' });
  });
});

describe('validateMessage: size', () => {
  it('accepts a message of exactly MAX_MESSAGE_BYTES', () => {
    const input = trackOfSize(MAX_MESSAGE_BYTES);
    expect(jsonByteLength(input)).toBe(MAX_MESSAGE_BYTES);
    expect(ok(input).event).toBe('Big');
  });

  it('rejects one byte more with message_too_large (413)', () => {
    const input = trackOfSize(MAX_MESSAGE_BYTES + 1);
    const result = bad(input);
    expect(result.error).toEqual({
      path: '',
      code: 'message_too_large',
      message: `message is ${MAX_MESSAGE_BYTES + 1} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`,
    });
    const err = toInputError(result.error);
    expect(err.status).toBe(413);
    expect(err.code).toBe('message_too_large');
  });

  it('measures UTF-8 bytes, not characters', () => {
    const base = { event: 'E', anonymousId: 'a', properties: { pad: '' } };
    const chars = Math.floor((MAX_MESSAGE_BYTES - jsonByteLength(base)) / 3) + 1;
    const input = { ...base, properties: { pad: '€'.repeat(chars) } }; // 3 bytes each
    expect(JSON.stringify(input).length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(bad(input).error.code).toBe('message_too_large');
  });

  it('accepts a message of MAX_MESSAGE_BYTES with a long browser user agent and its ip filled in', () => {
    const opts = options({ request: { ip: '2001:db8:85a3:8d3:1319:8a2e:370:7348', userAgent: `Mozilla/5.0 ${'x'.repeat(1_000)}` } });
    const result = validateMessage(trackOfSize(MAX_MESSAGE_BYTES), 'track', opts);
    expect(result.ok && result.bytes).toBe(result.ok && jsonByteLength(result.message));
    expect(result.ok && result.bytes).toBeGreaterThan(MAX_MESSAGE_BYTES);
  });

  it('measures the finished event: keys escaped to three bytes each can take it over MAX_EVENT_BYTES', () => {
    const keys = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`${i}`.padStart(4, '0') + '.'.repeat(20), 1]));
    const input = { anonymousId: 'a', event: 'E', properties: keys };
    expect(jsonByteLength(input)).toBeLessThan(MAX_MESSAGE_BYTES);
    const { error } = bad(input);
    expect(error).toMatchObject({ path: '', code: 'message_too_large' });
    expect(error.message).toMatch(new RegExp(`^the event is \\d+ bytes with the batch's context .* the limit is ${MAX_EVENT_BYTES} bytes`));
    expect(toInputError(error).status).toBe(413);
  });

  it("measures the finished event with the batch's context and integrations merged in", () => {
    const part = 'x'.repeat(MAX_MESSAGE_BYTES * 0.6); // each under the per-message limit, both over it
    const opts = options({ envelope: { context: { k: part }, integrations: { i: part } } });
    expect(bad({ anonymousId: 'a', event: 'E' }, 'track', opts).error.code).toBe('message_too_large');
    // its own context and integrations replace those keys: then it fits
    expect(ok({ anonymousId: 'a', event: 'E', context: { k: 1 }, integrations: { i: 1 } }, 'track', opts).context['k']).toBe(1);
  });

  it.each([null, 'x', [1], 5])('rejects a non-object message (%j)', (input) => {
    expect(bad(input).error).toEqual({ path: '', code: 'invalid_body', message: 'message must be a JSON object' });
  });
});

describe('partitionKey and dedupKey', () => {
  const base = { messageId: 'm', sourceId: 's' };
  it('prefers anonymousId, then userId', () => {
    expect(partitionKey({ ...base, anonymousId: 'a', userId: 'u' })).toBe('a');
    expect(partitionKey({ ...base, userId: 'u' })).toBe('u');
  });
  it('keys an alias without anonymousId by its userId', () => {
    expect(partitionKey(ok({ userId: 'u', previousId: 'p' }, 'alias'))).toBe('u');
    expect(partitionKey(ok({ userId: 'u', previousId: 'p', anonymousId: 'a' }, 'alias'))).toBe('a');
  });
  it('builds sourceId:messageId', () => {
    expect(dedupKey({ sourceId: 'src_1', messageId: 'm-1' })).toBe('src_1:m-1');
  });
});

describe('isMessageType', () => {
  it('accepts the six types only', () => {
    for (const t of ['track', 'page', 'screen', 'identify', 'group', 'alias']) expect(isMessageType(t)).toBe(true);
    for (const t of ['batch', 'Track', '', null, 1]) expect(isMessageType(t)).toBe(false);
  });
});

describe('validateMessage: only what every stage and both stores (MongoDB, FerretDB) can take', () => {
  const track = (over: Record<string, unknown>) => ({ anonymousId: 'a', event: 'X', ...over });

  it.each([
    [{ context: { traits: { email: 'v@x.com', x: [[1]] } } }, 'context.traits.x[0]'],
    [{ properties: { list: [1, [2]] } }, 'properties.list[1]'],
    [{ properties: { a: { b: [{ c: [[]] }] } } }, 'properties.a.b[0].c[0]'],
    [{ integrations: { X: [['y']] } }, 'integrations.X[0]'],
    [{ context: { page: { tags: [[1], 2] } } }, 'context.page.tags[0]'],
  ])('refuses an array directly inside an array: %j', (over, path) => {
    expect(bad(track(over)).error).toMatchObject({ path, code: 'nested_array' });
  });

  it('accepts arrays of objects holding arrays', () => {
    expect(ok(track({ properties: { rows: [{ cells: [1, 2] }, { cells: [] }] } })).properties).toEqual({ rows: [{ cells: [1, 2] }, { cells: [] }] });
  });

  it.each([
    ['properties', { constructor: 'v' }, 'properties.constructor'],
    ['traits', { constructor: 'Bob' }, 'traits.constructor'],
    ['traits', { prototype: 1 }, 'traits.prototype'],
    ['properties', { a: [{ b: { prototype: {} } }] }, 'properties.a[0].b.prototype'],
    ['context', { traits: { constructor: 'x' } }, 'context.traits.constructor'],
    ['context', { page: { prototype: 'x' } }, 'context.page.prototype'],
    ['integrations', { constructor: true }, 'integrations.constructor'],
    ['traits', { $set: { prototype: 1 } }, 'traits.$set.prototype'],
    ['traits', { $unset: ['constructor'] }, 'traits.$unset[0]'],
  ])('refuses a constructor/prototype key at any depth of %s: %j', (field, value, path) => {
    expect(bad(track({ [field]: value }), 'identify').error).toMatchObject({ path, code: 'prototype_pollution' });
  });

  it.each(['prototype', 'constructor', '__proto__'])('refuses the event name %j', (event) => {
    expect(bad(track({ event })).error).toMatchObject({ path: 'event', code: 'prototype_pollution' });
  });

  it('keeps other names of Object.prototype as ordinary data', () => {
    const names = ['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];
    for (const name of names) expect(ok(track({ event: name })).event).toBe(name);
    const props = Object.fromEntries(names.map((n) => [n, n]));
    const event = ok(track({ properties: props, traits: { toString: { valueOf: 1 } } }), 'identify');
    expect(event.properties).toEqual(props);
    expect(Object.keys(event.properties)).toEqual(names);
    expect(event.traits).toEqual({ toString: { valueOf: 1 } });
    // A message whose own fields shadow Object.prototype is read by own property only.
    expect(ok({ ...track({}), hasOwnProperty: 1, toString: 'x' }).event).toBe('X');
  });

  it.each([
    [{ anonymousId: 'x\ud800' }, 'anonymousId'],
    [{ userId: '\udc00u' }, 'userId'],
    [{ messageId: 'm\ud83d' }, 'messageId'],
    [{ event: 'E\ud800' }, 'event'],
    [{ properties: { k: 'v\udfff' } }, 'properties.k'],
    [{ properties: { list: ['ok', 'b\ud800'] } }, 'properties.list[1]'],
    [{ properties: { 'k\ud800': 1 } }, 'properties["k\\ud800"]'],
    [{ traits: { $unset: ['t\ud800'] } }, 'traits.$unset[0]'],
    [{ context: { userAgent: '\ud800' } }, 'context.userAgent'],
    [{ context: { externalIds: [{ id: 'e\ud800', type: 'crm' }] } }, 'context.externalIds[0].id'],
  ])('refuses an unpaired surrogate anywhere: %j', (over, path) => {
    const result = bad(track(over));
    expect(result.error).toMatchObject({ path, code: 'invalid_string' });
    expect(JSON.stringify(result.error)).not.toMatch(/[\ud800-\udfff]/);
  });

  it('refuses an unpaired surrogate in page names and group ids', () => {
    expect(bad({ anonymousId: 'a', name: 'N\ud800' }, 'page').error).toMatchObject({ path: 'name', code: 'invalid_string' });
    expect(bad({ userId: 'u', groupId: 'g\udc00' }, 'group').error).toMatchObject({ path: 'groupId', code: 'invalid_string' });
  });

  it.each([
    [{ anonymousId: 'nul\u0000' }, 'anonymousId'],
    [{ event: 'E\u0000' }, 'event'],
    [{ properties: { k: 'v\u0000' } }, 'properties.k'],
    [{ context: { traits: { email: 'a\u0000@example.com' } } }, 'context.traits.email'],
  ])('refuses a NUL character in a string value (PostgreSQL cannot hold it): %j', (over, path) => {
    expect(bad(track(over)).error).toMatchObject({ path, code: 'invalid_string', message: expect.stringContaining('NUL') });
  });

  it('escapes a NUL character in a key instead of refusing it', () => {
    expect(ok(track({ properties: { 'k\u0000': 1 } })).properties).toEqual({ 'k\u2400': 1 });
  });

  it('accepts well-formed astral characters (surrogate pairs)', () => {
    expect(ok(track({ anonymousId: 'a😀', event: '🎉', properties: { '😀': '𝄞' } })).properties).toEqual({ '😀': '𝄞' });
  });

  it.each([
    ['timestamp', '0000-01-01'],
    ['timestamp', '1969-12-31T23:59:59.999Z'],
    ['timestamp', '1970-01-01T00:30:00+01:00'],
    ['sentAt', '0001-01-01T00:00:00Z'],
    ['originalTimestamp', '0999-06-01'],
  ])('refuses %s %j (before 1970)', (field, value) => {
    expect(bad(track({ [field]: value })).error).toMatchObject({ path: field, code: 'invalid_date' });
  });

  it('accepts the bounds of the range', () => {
    expect(ok(track({ timestamp: '1970-01-01T00:00:00Z' })).timestamp).toBe('1970-01-01T00:00:00.000Z');
    expect(ok(track({ timestamp: '9999-12-31T23:59:59.999Z' })).timestamp).toBe(RECEIVED_AT);
  });

  it('refuses a skew-corrected timestamp before 1970 (timestamp and sentAt decades apart)', () => {
    const result = bad(track({ timestamp: '1970-01-01', sentAt: '9999-12-31' }));
    expect(result.error).toMatchObject({ path: 'timestamp', code: 'invalid_date' });
    expect(result.error.message).toMatch(/sentAt/);
    const viaOriginal = bad(track({ originalTimestamp: '1970-01-01', sentAt: '2100-01-01' }));
    expect(viaOriginal.error).toMatchObject({ path: 'originalTimestamp', code: 'invalid_date' });
    const viaEnvelope = bad(track({ timestamp: '1971-01-01' }), 'track', options({ envelope: { sentAt: '9000-01-01' } }));
    expect(viaEnvelope.error.path).toBe('timestamp');
  });

  it('the issue of the report: 0000-01-01 with sentAt 9999-12-31 is refused, never -007974-…', () => {
    expect(bad(track({ timestamp: '0000-01-01', sentAt: '9999-12-31' })).errors.map((e) => e.path)).toEqual(['timestamp']);
  });

  it('every accepted timestamp is a four-digit-year ISO string', () => {
    const event = ok(track({ timestamp: '1990-01-01T00:00:00Z', sentAt: '2020-01-01T00:00:00Z' }));
    expect(event.timestamp).toMatch(/^\d{4}-/);
  });
});
