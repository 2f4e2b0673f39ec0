import type { TopicKey } from '@mosaic/contracts';

/** One consumed record, decoded headers and all, as the consumer host hands it to a handler. */
export interface InboundMessage {
  /** Full topic name (with prefix). */
  topic: string;
  topicKey: TopicKey;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Record timestamp, ms since the epoch. */
  timestamp: number;
  /** From the `messageId` header (set by the contracts codec). */
  messageId?: string;
  /** From the `correlationId` header. */
  correlationId?: string;
}
