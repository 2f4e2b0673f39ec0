/**
 * Files, once, the profile documents written before the contact list existed (they lack its
 * fields, so no shard read finds them): one unsorted scan of the store, each such document
 * updated from its stored state. Every write files the fields anyway; this job makes an upgraded
 * system list every profile without waiting for each one's next change. Done once per database
 * (`segmentation_migrations`); any instance may run it, at the same time too (the updates are
 * idempotent and conditional on the document not having been written since).
 */
import type { ProfileListRepository, SegmentProfilesRepository } from '@mosaic/segmentation-data-access';

export interface ListFieldsJobOptions {
  store: SegmentProfilesRepository;
  list: ProfileListRepository;
  /** Documents per read (default 500). */
  pageSize?: number;
}

export class ListFieldsJob {
  private done = false;
  private stopped = false;

  constructor(private readonly opts: ListFieldsJobOptions) {}

  /** One run: nothing once the database is marked filled; else the scan, then the mark. */
  async runOnce(): Promise<{ ran: boolean; scanned: number; filled: number }> {
    if (this.done || (await this.opts.list.filled())) {
      this.done = true;
      return { ran: false, scanned: 0, filled: 0 };
    }
    let scanned = 0;
    let filled = 0;
    for await (const page of this.opts.store.scan(this.opts.pageSize ?? 500)) {
      if (this.stopped) return { ran: true, scanned, filled };
      scanned += page.length;
      filled += await this.opts.list.fillMissing(page);
    }
    await this.opts.list.markFilled(filled);
    this.done = true;
    return { ran: true, scanned, filled };
  }

  stop(): void {
    this.stopped = true;
  }
}
