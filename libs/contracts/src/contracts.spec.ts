import {
  ContractViolationError,
  HEADER_CORRELATION_ID,
  HEADER_MESSAGE_ID,
  HEADER_SCHEMA,
  Schemas,
  TOPIC_SPECS,
  decodeMessage,
  encodeMessage,
  exactOrigin,
  keyDigest,
  parseAllowedOrigins,
  topicName,
  topicNames,
  type RawEvent,
  type SegmentMembershipChange,
  type SourceState,
} from './index';

const raw: RawEvent = {
  type: 'track',
  messageId: 'm-1',
  anonymousId: 'anon-1',
  event: 'Product Viewed',
  properties: { sku: 'X1', price: 12.5 },
  traits: {},
  context: { ip: '127.0.0.1' },
  timestamp: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:01.000Z',
  sourceId: 'src_1',
};

describe('topics', () => {
  it('prefixes every topic name', () => {
    const names = topicNames('acme.');
    expect(names.eventsRaw).toBe('acme.events.raw');
    expect(names.segmentsMembership).toBe('acme.segments.membership');
    expect(names.dlqIdentity).toBe('acme.dlq.identity');
    expect(topicNames().eventsResolved).toBe('mosaic.events.resolved');
  });
  it('compacts only the membership topic and the sources table', () => {
    const compacted = Object.values(TOPIC_SPECS)
      .filter((s) => s.cleanupPolicy === 'compact')
      .map((s) => s.key);
    expect(compacted).toEqual(['segmentsMembership', 'sources']);
  });
  it('rejects prefixes that would make invalid topic names', () => {
    expect(() => topicName('bad prefix.', 'eventsRaw')).toThrow(/invalid topic prefix/);
    expect(() => topicName('noseparator', 'eventsRaw')).toThrow(/invalid topic prefix/);
    expect(topicName('', 'eventsRaw')).toBe('events.raw');
  });
});

describe('codec', () => {
  it('round-trips an envelope and mirrors ids in headers', () => {
    const enc = encodeMessage(Schemas.rawEvent, raw, { producer: 'collector', messageId: 'm-1', correlationId: 'c-1' });
    expect(enc.headers[HEADER_MESSAGE_ID]).toBe('m-1');
    expect(enc.headers[HEADER_CORRELATION_ID]).toBe('c-1');
    expect(enc.headers[HEADER_SCHEMA]).toBe('events.raw@1');
    const dec = decodeMessage(Schemas.rawEvent, enc.value);
    expect(dec.schema).toBe('events.raw');
    expect(dec.schemaVersion).toBe(1);
    expect(dec.payload.event).toBe('Product Viewed');
    expect(dec.payload.properties).toEqual({ sku: 'X1', price: 12.5 });
    expect(dec.correlationId).toBe('c-1');
  });

  it('defaults the correlation id to the message id', () => {
    const enc = encodeMessage(Schemas.rawEvent, raw, { producer: 'collector', messageId: 'm-9' });
    expect(enc.envelope.correlationId).toBe('m-9');
  });

  it('refuses to produce an off-contract payload', () => {
    const bad = { ...raw, anonymousId: undefined, userId: undefined };
    expect(() => encodeMessage(Schemas.rawEvent, bad, { producer: 'collector' })).toThrow(ContractViolationError);
    expect(() => encodeMessage(Schemas.rawEvent, { ...raw, type: 'nope' as never }, { producer: 'x' })).toThrow(/type/);
    expect(() => encodeMessage(Schemas.rawEvent, { ...raw, event: undefined }, { producer: 'x' })).toThrow(/event/);
  });

  it('rejects garbage, wrong schemas, newer versions and pollution on decode', () => {
    expect(() => decodeMessage(Schemas.rawEvent, Buffer.from('not json'))).toThrow(/not JSON/);
    expect(() => decodeMessage(Schemas.rawEvent, null)).toThrow(/empty/);
    const enc = encodeMessage(Schemas.rawEvent, raw, { producer: 'collector' });
    const env = JSON.parse(enc.value.toString());
    expect(() => decodeMessage(Schemas.profileChange, enc.value)).toThrow(/schema: expected profiles.changes/);
    expect(() => decodeMessage(Schemas.rawEvent, JSON.stringify({ ...env, schemaVersion: 2 }))).toThrow(/newer than the supported/);
    expect(() => decodeMessage(Schemas.rawEvent, JSON.stringify({ ...env, messageId: '' }))).toThrow(/messageId/);
    const polluted = enc.value.toString().replace('"sku"', '"__proto__"');
    expect(() => decodeMessage(Schemas.rawEvent, polluted)).toThrow(/prototype-polluting key at payload.properties.__proto__/);
    const constructorKey = JSON.stringify({ ...env, payload: { ...raw, traits: { nested: [{ constructor: 1 }] } } });
    expect(() => decodeMessage(Schemas.rawEvent, constructorKey)).toThrow(/at payload.traits.nested\[0\].constructor/);
  });

  it('keeps keys that name Object.prototype members, and reserved names inside string values', () => {
    const names = Object.getOwnPropertyNames(Object.prototype).filter((n) => n !== '__proto__' && n !== 'constructor');
    const traits = Object.fromEntries(names.map((n, i) => [n, i]));
    const properties = { note: 'a "constructor": 1 and "__proto__": 2 written as text', nested: { toString: { valueOf: 'x' } } };
    const enc = encodeMessage(Schemas.rawEvent, { ...raw, traits, properties }, { producer: 'collector' });
    const decoded = decodeMessage(Schemas.rawEvent, enc.value);
    expect(decoded.payload.traits).toEqual(traits);
    expect(decoded.payload.properties).toEqual(properties);
  });

  it('picks the resolved-topic class by kind', () => {
    const merge = {
      kind: 'merge' as const,
      survivorId: 'p1',
      loserId: 'p2',
      reason: 'identify linked userId',
      triggeringMessageId: 'm-1',
      movedIdentifiers: [{ type: 'anonymousId', value: 'a' }],
      at: '2026-01-01T00:00:00.000Z',
    };
    const enc = encodeMessage(Schemas.resolved, merge, { producer: 'identity' });
    expect(decodeMessage(Schemas.resolved, enc.value).payload.kind).toBe('merge');
    expect(() => encodeMessage(Schemas.resolved, { ...merge, kind: 'other' } as never, { producer: 'identity' })).toThrow(/unknown payload kind/);
    expect(() => encodeMessage(Schemas.resolved, { ...merge, movedIdentifiers: [{ type: '', value: 'a' }] }, { producer: 'identity' })).toThrow(
      /movedIdentifiers\.0\.type/,
    );
  });

  it('validates nested contract classes at any depth', () => {
    const change = {
      profileId: 'p1',
      version: 2,
      changed: ['traits.plan'],
      profile: { identifiers: [{ type: 'userId', value: 'u1' }], traits: { plan: 'pro' }, computed: { pageViews: 3 }, membershipVersion: 0 },
      trigger: { messageId: 'm-1', kind: 'event' },
      at: '2026-01-01T00:00:00.000Z',
    };
    expect(decodeMessage(Schemas.profileChange, encodeMessage(Schemas.profileChange, change, { producer: 'enrichment' }).value).payload).toEqual(change);
    const badIdentifier = { ...change, profile: { ...change.profile, identifiers: [{ type: 'userId', value: 42 }] } };
    expect(() => encodeMessage(Schemas.profileChange, badIdentifier as never, { producer: 'e' })).toThrow(/profile\.identifiers\.0\.value/);
    expect(() => encodeMessage(Schemas.profileChange, { ...change, trigger: { kind: 'event' } } as never, { producer: 'e' })).toThrow(/trigger\.messageId/);
    expect(() => encodeMessage(Schemas.profileChange, { ...change, profile: 'flat' } as never, { producer: 'e' })).toThrow(/profile/);
  });

  it('validates the public membership change', () => {
    const change: SegmentMembershipChange = {
      profileId: 'p1',
      segmentKey: 'high-ltv',
      segmentVersion: 1,
      change: 'entered',
      at: '2026-01-01T00:00:00.000Z',
      reason: { kind: 'message', messageId: 'm-1' },
      identifiers: { userId: 'u1', email: 'a@example.com' },
      profileVersion: 7,
    };
    expect(decodeMessage(Schemas.segmentMembership, encodeMessage(Schemas.segmentMembership, change, { producer: 'segmentation' }).value).payload).toEqual(
      change,
    );
    expect(() => encodeMessage(Schemas.segmentMembership, { ...change, change: 'left' as never }, { producer: 's' })).toThrow(/change/);
    expect(() => encodeMessage(Schemas.segmentMembership, { ...change, profileVersion: -1 }, { producer: 's' })).toThrow(/profileVersion/);
    // entries may say why (optional, additive)
    const explained: SegmentMembershipChange = {
      ...change,
      explanation: { trigger: { kind: 'event', event: 'Product Viewed', messageId: 'm-1', at: change.at }, matched: ['trait plan = pro'] },
    };
    expect(decodeMessage(Schemas.segmentMembership, encodeMessage(Schemas.segmentMembership, explained, { producer: 'segmentation' }).value).payload).toEqual(
      explained,
    );
    const badKind = { ...explained, explanation: { trigger: { kind: 'guess' }, matched: [] } };
    expect(() => encodeMessage(Schemas.segmentMembership, badKind as never, { producer: 's' })).toThrow(/explanation\.trigger\.kind/);
  });
});

describe('sources (internal)', () => {
  const state: SourceState = {
    id: 'src_1',
    name: 'shop',
    writeKeyHash: keyDigest('wk'),
    serverKeyHash: keyDigest('sk_x'),
    identitySecret: 'c2VjcmV0',
    allowedOrigins: ['https://shop.example.com'],
    revokedAt: null,
    updatedAt: '2026-01-01T00:00:00.000Z',
  };

  it('round-trips a source state; older states without server key or secret are valid', () => {
    expect(decodeMessage(Schemas.sourceState, encodeMessage(Schemas.sourceState, state, { producer: 'collector' }).value).payload).toEqual(state);
    const { serverKeyHash: _s, identitySecret: _i, ...old } = state;
    expect(() => encodeMessage(Schemas.sourceState, { ...old, allowedOrigins: [], revokedAt: '2026-01-02T00:00:00.000Z' }, { producer: 'c' })).not.toThrow();
    expect(() => encodeMessage(Schemas.sourceState, { ...state, writeKeyHash: 'plain-key' }, { producer: 'c' })).toThrow(/writeKeyHash/);
    expect(() => encodeMessage(Schemas.sourceState, { ...state, allowedOrigins: ['https://shop.example.com/path'] }, { producer: 'c' })).toThrow(
      /allowedOrigins/,
    );
  });

  it('digests keys as hex SHA-256', () => {
    expect(keyDigest('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('takes exact origins only, normalised as browsers send them', () => {
    expect(exactOrigin('https://Shop.Example.com')).toEqual({ ok: true, origin: 'https://shop.example.com' });
    expect(exactOrigin('https://shop.example.com:443/')).toEqual({ ok: true, origin: 'https://shop.example.com' });
    expect(exactOrigin('http://127.0.0.1:8091')).toEqual({ ok: true, origin: 'http://127.0.0.1:8091' });
    for (const bad of [
      '*',
      'https://*.example.com',
      'shop.example.com',
      'ftp://x.example.com',
      'https://shop.example.com/app',
      'https://u:p@shop.example.com',
      '',
    ]) {
      expect(exactOrigin(bad).ok).toBe(false);
    }
  });

  it('names each bad allowed origin', () => {
    expect(parseAllowedOrigins(['https://a.example.com', 'https://a.example.com/', 'http://b.example.com:8080'])).toEqual({
      ok: true,
      origins: ['https://a.example.com', 'http://b.example.com:8080'],
    });
    const r = parseAllowedOrigins(['https://a.example.com', 'https://a.example.com/x', 7]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual([
      expect.stringMatching(/^allowedOrigins\[1\]: .*no path/),
      expect.stringMatching(/^allowedOrigins\[2\]: must be a string/),
    ]);
    expect(parseAllowedOrigins('https://a.example.com').ok).toBe(false);
  });
});
