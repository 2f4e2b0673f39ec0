/**
 * The refused messages of one body (a batch, an import, an `events.ingest` record), bounded:
 * every one is counted, only the first are kept to be listed (MAX_LISTED_REJECTIONS of them,
 * and none after the one that would pass MAX_LISTED_ISSUES issues; the first is always kept
 * whole). So 500 KB of `{}` items costs a count, not an answer of megabytes.
 */
import type { ValidationIssue } from './errors';
import { MAX_LISTED_ISSUES, MAX_LISTED_REJECTIONS } from './limits';

export class Refusals<T extends { errors: ValidationIssue[] }> {
  /** The first refused messages, in order. */
  readonly listed: T[] = [];
  /** Every refused message, listed or not. */
  count = 0;
  /** The issues of every refused message, listed or not. */
  issueCount = 0;
  private listedIssues = 0;
  private closed = false;

  add(item: T): void {
    this.count++;
    this.issueCount += item.errors.length;
    if (this.closed) return;
    const full = this.listed.length >= MAX_LISTED_REJECTIONS || (this.listed.length > 0 && this.listedIssues + item.errors.length > MAX_LISTED_ISSUES);
    if (full) {
      // The list stays the first ones: nothing after a message left out is listed either.
      this.closed = true;
      return;
    }
    this.listed.push(item);
    this.listedIssues += item.errors.length;
  }
}
