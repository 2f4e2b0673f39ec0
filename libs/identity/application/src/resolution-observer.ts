import type { ResolutionOutcome } from '@mosaic/identity-domain';
import type { BatchStats } from './batch-resolver';

/** Where a message came from, for logs. */
export interface MessagePosition {
  topic: string;
  partition: number;
  offset: string;
  correlationId: string;
  messageId: string;
}

/** What `ResolveEventBatch` reports (the app turns it into metrics and log lines). */
export interface ResolutionObserver {
  /** One message resolved, whatever its status (`rulesVersion`: the rules it was resolved with). */
  resolved(outcome: ResolutionOutcome, durationMs: number, at: MessagePosition, rulesVersion: number): void;
  /** An event with no usable identifier, about to be dead-lettered with these reasons. */
  deadLettered(at: MessagePosition, reasons: string[]): void;
  /** A batch is done (`cacheEntries`: the caches' sizes after it). */
  batchDone(stats: BatchStats, cacheEntries: { identifiers: number; profiles: number }): void;
}
