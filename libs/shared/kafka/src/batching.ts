/**
 * Pure parts of the producer's batching: sizing, splitting a caller's messages into chunks
 * that fit one produce request, taking the next batch off the queue, grouping by topic.
 */

/** A record to produce. `key` decides the partition (murmur2, Java-compatible) unless `partition` is set. */
export interface OutboundMessage {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  partition?: number;
}

export interface BatchLimits {
  /** Most messages in one `sendBatch`. */
  maxMessages: number;
  /**
   * Most bytes (keys + values + headers, estimated) in one `sendBatch`. Kept well below the
   * broker's `message.max.bytes` (1 MiB by default), which bounds one partition's record batch.
   */
  maxBytes: number;
}

/** Per-record overhead estimate (record framing: length, attributes, deltas, varints). */
const RECORD_OVERHEAD = 24;

export function messageBytes(m: OutboundMessage): number {
  let n = RECORD_OVERHEAD + m.value.length + (m.key === null ? 0 : Buffer.byteLength(m.key, 'utf8'));
  for (const [k, v] of Object.entries(m.headers)) n += 4 + Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  return n;
}

export interface Chunk {
  messages: OutboundMessage[];
  bytes: number;
}

/**
 * Splits messages, in order, into contiguous chunks within the limits. A single message
 * larger than `maxBytes` gets a chunk of its own (the caller decides whether to accept it).
 */
export function splitIntoChunks(messages: readonly OutboundMessage[], limits: BatchLimits): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk = { messages: [], bytes: 0 };
  for (const m of messages) {
    const size = messageBytes(m);
    if (current.messages.length > 0 && (current.messages.length + 1 > limits.maxMessages || current.bytes + size > limits.maxBytes)) {
      chunks.push(current);
      current = { messages: [], bytes: 0 };
    }
    current.messages.push(m);
    current.bytes += size;
  }
  if (current.messages.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Removes and returns the longest prefix of `queue` that fits the limits and whose entries may
 * go out `together` with the first (always at least the first entry, so an oversized entry
 * still goes out alone).
 */
export function takeBatch<T extends Chunk>(queue: T[], limits: BatchLimits, together: (first: T, entry: T) => boolean = () => true): T[] {
  let count = 0;
  let messages = 0;
  let bytes = 0;
  for (const entry of queue) {
    if (count > 0 && (messages + entry.messages.length > limits.maxMessages || bytes + entry.bytes > limits.maxBytes)) break;
    if (count > 0 && !together(queue[0] as T, entry)) break;
    count++;
    messages += entry.messages.length;
    bytes += entry.bytes;
  }
  return queue.splice(0, count);
}

/** Groups entries by topic, keeping the order of messages within each topic. */
export function groupByTopic(entries: readonly { topic: string; messages: readonly OutboundMessage[] }[]): { topic: string; messages: OutboundMessage[] }[] {
  const byTopic = new Map<string, OutboundMessage[]>();
  for (const e of entries) {
    let list = byTopic.get(e.topic);
    if (!list) byTopic.set(e.topic, (list = []));
    list.push(...e.messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
