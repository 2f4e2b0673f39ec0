/**
 * `GET /v1/profiles`: a page of the contact list, walked shard by shard (or block by block, or
 * the rest of the list at once, when the filter is sparse) from the cursor's position, each read an indexed equality, as many
 * reads at once as should fill the page
 * (libs/segmentation/domain/src/profile-list.ts says why). A page stops when it is full, at the
 * end of the list, or when the request's scan budget (queries, documents read) is spent: a
 * sparse filter answers a partial page with a cursor instead of reading every profile.
 */
import {
  LIST_SHARDS,
  densityOf,
  encodeListCursor,
  filterNarrowsRead,
  nextSpans,
  seenDaysToRead,
  takeFromSpan,
  type ListPosition,
  type ListSpan,
  type ProfileListQuery,
} from '@mosaic/segmentation-domain';
import type { ListedProfile, ProfileListRepository } from '@mosaic/segmentation-data-access';

export interface ProfileRow {
  profileId: string;
  email: string | null;
  userId: string | null;
  known: boolean;
  lastSeenAt: string | null;
  segments: string[];
}

export interface ProfilePage {
  profiles: ProfileRow[];
  /** The next page's cursor; null at the end of the list. */
  next: string | null;
  /** The scan budget ran out before the page was full: fewer rows than asked, more may follow. */
  partial: boolean;
  /** What this request read. */
  scanned: { queries: number; documents: number; shards: number };
  /** The share of the list walked so far (0–1), for "searched 40 % of contacts". */
  progress: number;
}

export interface ListBudget {
  /** Indexed reads per request at most. */
  maxQueries: number;
  /** Documents read per request at most (each costs ~0.1 ms on FerretDB). */
  maxDocuments: number;
  /** Documents a block read may be expected to return (else shards are read one by one). */
  blockReadMax: number;
  /** Reads sent at once (each costs a few ms on FerretDB however little it returns). */
  parallelReads: number;
}

export const DEFAULT_LIST_BUDGET: ListBudget = { maxQueries: 100, maxDocuments: 800, blockReadMax: 128, parallelReads: 4 };

function rowOf(d: ListedProfile): ProfileRow {
  return {
    profileId: d._id,
    email: d.email ?? null,
    userId: d.userId ?? null,
    known: d.known ?? false,
    lastSeenAt: d.lastSeenAt ? d.lastSeenAt.toISOString() : null,
    segments: d.segments ?? [],
  };
}

export class ListProfiles {
  constructor(
    private readonly list: ProfileListRepository,
    private readonly budget: ListBudget = DEFAULT_LIST_BUDGET,
  ) {}

  /** The documents of each span: one read per span, or one per span and day when the last-seen range is read by day. */
  private async read(spans: readonly ListSpan[], q: ProfileListQuery, days: readonly number[] | undefined): Promise<ListedProfile[][]> {
    if (days === undefined) return Promise.all(spans.map((span) => this.list.span(span, q.filter)));
    return Promise.all(spans.map(async (span) => (await Promise.all(days.map((day) => this.list.span(span, q.filter, day)))).flat()));
  }

  async execute(q: ProfileListQuery, now = Date.now()): Promise<ProfilePage> {
    const days = seenDaysToRead(q.filter, now);
    const readsPerSpan = days?.length ?? 1;
    // Read by day, a span costs a read per day: walking shard by shard costs that many times more
    // reads, so a block read may return more (√days: a rule of thumb from docs/benchmarks.md's costs).
    const blockReadMax = this.budget.blockReadMax * Math.sqrt(readsPerSpan);
    // The whole list in one read only where an indexed equality of the filter narrows it (never a read of every profile).
    const wholeList = filterNarrowsRead(q.filter, days);
    let position: ListPosition = q.cursor?.position ?? { shard: 0 };
    const startShard = position.shard;
    let density = q.cursor?.density;
    const rows: ListedProfile[] = [];
    const scanned = { queries: 0, documents: 0, shards: 0 };
    const stats = { documents: 0, shards: 0 };
    const withinBudget = () =>
      scanned.queries === 0 || (scanned.queries + readsPerSpan <= this.budget.maxQueries && scanned.documents < this.budget.maxDocuments);
    while (rows.length < q.limit && position.shard < LIST_SHARDS && withinBudget()) {
      const reads = Math.min(this.budget.parallelReads, this.budget.maxQueries - scanned.queries);
      const spans = nextSpans(position, density, q.limit - rows.length, blockReadMax, Math.max(1, Math.floor(reads / readsPerSpan)), wholeList);
      const results = await this.read(spans, q, days);
      scanned.queries += spans.length * readsPerSpan;
      for (const [i, span] of spans.entries()) {
        const docs = results[i] ?? [];
        scanned.documents += docs.length;
        stats.documents += docs.length;
        stats.shards += span.endShard - span.firstShard;
        if (rows.length === q.limit) continue; // read ahead in parallel and not needed: the next page reads it again
        const taken = takeFromSpan(docs, span, position, q.limit - rows.length, q.filter);
        rows.push(...taken.rows);
        position = taken.position;
      }
      density = densityOf(stats.documents, stats.shards);
    }
    scanned.shards = position.shard - startShard;
    const done = position.shard >= LIST_SHARDS;
    return {
      profiles: rows.map(rowOf),
      next: done ? null : encodeListCursor({ position, density: density ?? 0, filter: q.fingerprint }),
      partial: !done && rows.length < q.limit,
      scanned,
      progress: Math.min(1, position.shard / LIST_SHARDS),
    };
  }
}
