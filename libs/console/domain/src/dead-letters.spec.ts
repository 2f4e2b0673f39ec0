import { deadLetterId, mayReplayDeadLetters, parseDeadLetterId, replayHeaders, replayTarget, valuePreview, type DeadLetterRecord } from './dead-letters';

const record = (over: Partial<DeadLetterRecord> = {}): DeadLetterRecord => ({
  service: 'enrichment',
  sourceTopic: 'mosaic.events.resolved',
  partition: 2,
  offset: '17',
  key: 'p-1',
  valueBase64: Buffer.from('{"a":1}').toString('base64'),
  headers: { messageId: 'm-1', correlationId: 'c-1' },
  error: { name: 'TypeError', message: 'x is undefined' },
  attempts: 1,
  failedAt: '2026-12-06T09:00:00.000Z',
  ...over,
});

describe('dead letter ids', () => {
  it('name where the dead letter sits and parse back', () => {
    const id = deadLetterId({ topic: 'mosaic.dlq.enrichment', partition: 3, offset: '1234' });
    expect(id).toBe('mosaic.dlq.enrichment:3:1234');
    expect(parseDeadLetterId(id)).toEqual({ topic: 'mosaic.dlq.enrichment', partition: 3, offset: '1234' });
  });

  it('refuse what is not an id', () => {
    for (const bad of ['', 'mosaic.dlq.x', 'mosaic.dlq.x:1', 'mosaic.dlq.x:a:1', 'mosaic.dlq.x:1:-1', 'a b:1:1', 'x:1:1:1']) {
      expect(parseDeadLetterId(bad)).toBeNull();
    }
  });
});

describe('valuePreview', () => {
  it('shows text, cut at the limit', () => {
    expect(valuePreview(Buffer.from('{"a":1}').toString('base64'))).toEqual({ text: '{"a":1}', binary: false, truncated: false, bytes: 7 });
    expect(valuePreview(Buffer.from('abcdef').toString('base64'), 4)).toEqual({ text: 'abcd', binary: false, truncated: true, bytes: 6 });
  });

  it('says binary for bytes that are not UTF-8', () => {
    expect(valuePreview(Buffer.from([0xff, 0xfe, 0x00]).toString('base64'))).toEqual({ text: null, binary: true, truncated: false, bytes: 3 });
  });
});

describe('replay', () => {
  const replayable = new Set(['mosaic.events.raw', 'mosaic.events.resolved']);

  it('goes back to the source topic when a stage consumes it', () => {
    expect(replayTarget(record(), replayable)).toEqual({ ok: true, kind: 'topic', topic: 'mosaic.events.resolved' });
  });

  it("a dead delivery of activation is delivered again by activation; activation's other dead letters go back to their topic", () => {
    const membership = { service: 'activation', sourceTopic: 'mosaic.segments.membership' };
    expect(replayTarget(record({ ...membership, headers: { deliveryId: 'dlv-1', destinationId: 'dst_1' } }), replayable)).toEqual({
      ok: true,
      kind: 'delivery',
      deliveryId: 'dlv-1',
    });
    const unread = new Set([...replayable, 'mosaic.segments.membership']);
    expect(replayTarget(record({ ...membership, headers: { messageId: 'm-2' } }), unread)).toEqual({
      ok: true,
      kind: 'topic',
      topic: 'mosaic.segments.membership',
    });
    // only activation's letters name deliveries
    expect(replayTarget(record({ headers: { deliveryId: 'dlv-1' } }), replayable)).toMatchObject({ kind: 'topic' });
  });

  it('is refused for any other topic, naming it', () => {
    const r = replayTarget(record({ sourceTopic: 'mosaic.dlq.identity' }), replayable);
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('mosaic.dlq.identity') });
  });

  it('keeps the original headers (messageId included) and names the dead letter', () => {
    expect(replayHeaders(record(), 'mosaic.dlq.enrichment:0:5')).toEqual({ messageId: 'm-1', correlationId: 'c-1', replayOf: 'mosaic.dlq.enrichment:0:5' });
  });

  it('is for editors and admins', () => {
    expect(mayReplayDeadLetters('viewer')).toBe(false);
    expect(mayReplayDeadLetters('editor')).toBe(true);
    expect(mayReplayDeadLetters('admin')).toBe(true);
  });
});
