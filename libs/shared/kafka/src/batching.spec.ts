import { groupByTopic, messageBytes, splitIntoChunks, takeBatch, type OutboundMessage } from './batching';

const msg = (bytes: number, key: string | null = 'k'): OutboundMessage => ({ key, value: Buffer.alloc(bytes), headers: {} });

describe('batching', () => {
  it('estimates record size from key, value and headers', () => {
    const base = messageBytes({ key: null, value: Buffer.alloc(0), headers: {} });
    expect(messageBytes({ key: 'abc', value: Buffer.alloc(10), headers: {} })).toBe(base + 13);
    expect(messageBytes({ key: null, value: Buffer.alloc(0), headers: { h: 'é' } })).toBe(base + 4 + 1 + 2);
  });

  it('splits a caller’s messages into ordered chunks within the limits', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ ...msg(100), key: String(i) }));
    const chunks = splitIntoChunks(messages, { maxMessages: 4, maxBytes: 1_000_000 });
    expect(chunks.map((c) => c.messages.length)).toEqual([4, 4, 2]);
    expect(chunks.flatMap((c) => c.messages.map((m) => m.key))).toEqual(messages.map((m) => m.key));

    const size = messageBytes(msg(100));
    const byBytes = splitIntoChunks(messages, { maxMessages: 100, maxBytes: size * 3 });
    expect(byBytes.map((c) => c.messages.length)).toEqual([3, 3, 3, 1]);
    expect(byBytes[0]?.bytes).toBe(size * 3);
  });

  it('gives an oversized message a chunk of its own', () => {
    const chunks = splitIntoChunks([msg(10), msg(5_000), msg(10)], { maxMessages: 100, maxBytes: 1_000 });
    expect(chunks.map((c) => c.messages.length)).toEqual([1, 1, 1]);
    expect(splitIntoChunks([], { maxMessages: 1, maxBytes: 1 })).toEqual([]);
  });

  it('takes the longest fitting prefix of the queue, at least one entry', () => {
    const entry = (n: number, bytes = 10) => ({ messages: Array.from({ length: n }, () => msg(1)), bytes });
    const queue = [entry(3), entry(3), entry(3), entry(1)];
    expect(takeBatch(queue, { maxMessages: 7, maxBytes: 1_000 }).length).toBe(2);
    expect(queue.length).toBe(2);
    expect(takeBatch(queue, { maxMessages: 2, maxBytes: 1_000 }).length).toBe(1);
    expect(takeBatch(queue, { maxMessages: 100, maxBytes: 1_000 }).length).toBe(1);
    expect(queue.length).toBe(0);
    const bytesQueue = [entry(1, 600), entry(1, 600)];
    expect(takeBatch(bytesQueue, { maxMessages: 100, maxBytes: 1_000 }).length).toBe(1);
    expect(takeBatch([], { maxMessages: 1, maxBytes: 1 })).toEqual([]);
  });

  it('stops the prefix at the first entry that may not go out together with the first', () => {
    const entry = (owner: string) => ({ owner, messages: [msg(1)], bytes: 10 });
    const queue = [entry('a'), entry('a'), entry('b'), entry('a')];
    const sameOwner = (first: { owner: string }, e: { owner: string }) => first.owner === e.owner;
    expect(takeBatch(queue, { maxMessages: 100, maxBytes: 1_000 }, sameOwner).map((e) => e.owner)).toEqual(['a', 'a']);
    expect(takeBatch(queue, { maxMessages: 100, maxBytes: 1_000 }, sameOwner).map((e) => e.owner)).toEqual(['b']);
  });

  it('groups by topic keeping per-topic order', () => {
    const a1 = msg(1, 'a1');
    const b1 = msg(1, 'b1');
    const a2 = msg(1, 'a2');
    const grouped = groupByTopic([
      { topic: 'a', messages: [a1] },
      { topic: 'b', messages: [b1] },
      { topic: 'a', messages: [a2] },
    ]);
    expect(grouped.map((g) => [g.topic, g.messages.map((m) => m.key)])).toEqual([
      ['a', ['a1', 'a2']],
      ['b', ['b1']],
    ]);
  });
});
