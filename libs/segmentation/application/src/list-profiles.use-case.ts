/**
 * `GET /v1/profiles`: a page of the contact list, walked shard by shard (or block by block, or
 * the rest of the list at once, when the filter is sparse) from the cursor's position, each read
 * an indexed equality, as many reads at once as should fill the page
 * (libs/segmentation/domain/src/profile-list.ts says why). A page stops when it is full, at the
 * end of the list, or when the request's scan budget (queries, documents read) is spent: a
 * sparse filter answers a partial page with a cursor instead of reading every profile. Every
 * read is capped by its share of the documents left, so a wrong density (a stale or forged
 * cursor's) costs at most the budget: a read that reaches its cap is read again finer.
 */
import {
  LIST_SHARDS,
  densityOf,
  encodeListCursor,
  filterNarrowsRead,
  finerSpan,
  matchesInMemory,
  nextSpans,
  SHARDS_READ,
  seenDaysToRead,
  takeFromSpan,
  type ListPosition,
  type ListSpan,
  type ProfileListFilter,
  type ProfileListQuery,
  type SpanField,
} from '@mosaic/segmentation-domain';
import type { ListedProfile, ProfileListRepository, SpanRead } from '@mosaic/segmentation-data-access';

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
  /** Documents read per request at most (each costs ~0.3 ms on FerretDB); a shard must hold fewer. */
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

/** How a request reads, wherever it is in the list. */
interface ReadPlan {
  /** The days last seen read by equality (a read per span and day); undefined: a read per span. */
  days: number[] | undefined;
  readsPerSpan: number;
  /** Documents a block (or whole-list) read may be expected to return. */
  readMax: number;
}

/** A request's walk so far. */
interface Walk {
  position: ListPosition;
  startShard: number;
  /** Documents per shard: the cursor's at first (at least `MIN_CURSOR_DENSITY`), then `estimate`'s. */
  density: number | undefined;
  /** The coarsest span allowed: the whole list only where the filter narrows a read by itself; finer after a capped read. */
  coarsest: SpanField;
  /** The previous round's read reached its cap: this round reads one span at its position, finer. */
  alone: boolean;
  rows: ListedProfile[];
  scanned: { queries: number; documents: number; shards: number };
  /** What this request's complete reads returned, over how many shards, and how many of those documents passed the filters applied in memory. */
  complete: { documents: number; shards: number; matched: number };
  /** The density a capped read showed at least (its cap over its shards). */
  atLeast: number;
}

/** The reads of one span (a read per day when read by day) as one. */
function joined(reads: readonly SpanRead[]): SpanRead {
  return { docs: reads.flatMap((r) => r.docs), documents: reads.reduce((n, r) => n + r.documents, 0), capped: reads.some((r) => r.capped) };
}

/** What a read cost, and what it says of the density. */
function counted(walk: Walk, span: ListSpan, read: SpanRead, cap: number, filter: ProfileListFilter): void {
  walk.scanned.documents += read.documents;
  if (read.capped) {
    walk.atLeast = Math.max(walk.atLeast, cap / SHARDS_READ[span.field]);
    return;
  }
  walk.complete.documents += read.documents;
  walk.complete.shards += span.endShard - span.firstShard;
  walk.complete.matched += read.docs.filter((d) => matchesInMemory(d, filter)).length;
}

/** The documents the page is expected to need to read for `rows` more rows: the share that passes the in-memory filters so far (a prior of one in one). */
function documentsFor(rows: number, walk: Walk): number {
  return (rows * (walk.complete.documents + 1)) / (walk.complete.matched + 1);
}

/** Documents per shard, from the complete reads, and at least what the capped ones showed (a capped read alone would understate it). */
function estimate(walk: Walk): number {
  return Math.max(walk.complete.shards > 0 ? densityOf(walk.complete.documents, walk.complete.shards) : 0, walk.atLeast);
}

/** The configured read budget cannot list a shard of this size (the deployment outgrew SEGMENTATION_LIST_MAX_DOCUMENTS). */
export class ListBudgetTooSmallError extends Error {
  override readonly name = 'ListBudgetTooSmallError';
}

export class ListProfiles {
  constructor(
    private readonly list: ProfileListRepository,
    private readonly budget: ListBudget = DEFAULT_LIST_BUDGET,
  ) {}

  async execute(q: ProfileListQuery, now = Date.now()): Promise<ProfilePage> {
    const days = seenDaysToRead(q.filter, now);
    const readsPerSpan = days?.length ?? 1;
    // Read by day, a span costs a read per day: walking shard by shard costs that many times more
    // reads, so a block read may return more (√days: a rule of thumb from docs/benchmarks.md's costs).
    const plan: ReadPlan = { days, readsPerSpan, readMax: this.budget.blockReadMax * Math.sqrt(readsPerSpan) };
    const walk = this.start(q, filterNarrowsRead(q.filter, days) ? 'all' : 'listBlock');
    while (walk.rows.length < q.limit && walk.position.shard < LIST_SHARDS && this.canRead(walk, plan)) await this.round(walk, q, plan);
    return this.pageOf(walk, q);
  }

  private start(q: ProfileListQuery, coarsest: SpanField): Walk {
    const position = q.cursor?.position ?? { shard: 0 };
    const scanned = { queries: 0, documents: 0, shards: 0 };
    const complete = { documents: 0, shards: 0, matched: 0 };
    return { position, startShard: position.shard, density: q.cursor?.density, coarsest, alone: false, rows: [], scanned, complete, atLeast: 0 };
  }

  /** Whether the budget allows another round: its queries, and a document for each read of a span. */
  private canRead(walk: Walk, plan: ReadPlan): boolean {
    const queries = walk.scanned.queries === 0 || walk.scanned.queries + plan.readsPerSpan <= this.budget.maxQueries;
    return queries && this.budget.maxDocuments - walk.scanned.documents >= plan.readsPerSpan;
  }

  /** Reads the next spans at once, each read capped (`capOf`), and takes their rows. */
  private async round(walk: Walk, q: ProfileListQuery, plan: ReadPlan): Promise<void> {
    const left = this.budget.maxDocuments - walk.scanned.documents;
    // at most a read per document left: each read's cap is then at least 1 (canRead leaves room for one span)
    const reads = Math.min(this.budget.parallelReads, this.budget.maxQueries - walk.scanned.queries, left);
    const maxSpans = walk.alone ? 1 : Math.max(1, Math.floor(reads / plan.readsPerSpan));
    const need = documentsFor(q.limit - walk.rows.length, walk);
    const spans = nextSpans(walk.position, walk.density, { need, readMax: plan.readMax, maxSpans, documents: left, coarsest: walk.coarsest });
    const cap = this.capOf(walk, spans, plan, left);
    const results = await this.read(spans, q, plan.days, cap);
    walk.scanned.queries += spans.length * plan.readsPerSpan;
    walk.alone = false;
    let blocked = false; // a span read only in part: nothing after it can be taken in order
    for (const [i, span] of spans.entries()) {
      const read = results[i]!;
      counted(walk, span, read, cap, q.filter);
      if (blocked || walk.rows.length === q.limit) continue; // read ahead in parallel and not needed: the next page reads it again
      if (read.capped) {
        this.fallBack(walk, span, cap >= Math.floor(this.budget.maxDocuments / plan.readsPerSpan));
        blocked = true;
        continue;
      }
      const taken = takeFromSpan(read.docs, span, walk.position, q.limit - walk.rows.length, q.filter);
      walk.rows.push(...taken.rows);
      walk.position = taken.position;
    }
    walk.density = estimate(walk);
  }

  /**
   * A read's limit: its share of the documents left, so that the round's reads together stay
   * within the budget; and, once there is an estimate, at most twice what the read is expected to
   * return (at least what a block read may be): a wrong estimate (a stale or forged cursor's)
   * then wastes little of the budget and leaves the rest to the finer reads after it. A shard
   * read again after its cap (it cannot be split) gets its whole share.
   */
  private capOf(walk: Walk, spans: readonly ListSpan[], plan: ReadPlan, left: number): number {
    const share = Math.floor(left / (spans.length * plan.readsPerSpan));
    const field = spans[0]!.field;
    if (walk.density === undefined || (walk.alone && field === 'listShard')) return share;
    return Math.min(share, Math.ceil(Math.max(2 * walk.density * SHARDS_READ[field], plan.readMax)));
  }

  /**
   * A read reached its cap: it returned part of the span, unsorted, so no row can be taken from
   * it. The next round reads the same position alone, in a finer span. A shard whose read could
   * return all a read may (the whole budget) can never be listed: an error, not a list that
   * never moves.
   */
  private fallBack(walk: Walk, span: ListSpan, wholeBudget: boolean): void {
    if (span.field === 'listShard' && wholeBudget) {
      throw new ListBudgetTooSmallError(
        `contact list: shard ${span.value} holds more documents than a request may read (SEGMENTATION_LIST_MAX_DOCUMENTS ${this.budget.maxDocuments}); raise it`,
      );
    }
    walk.coarsest = finerSpan(span.field);
    walk.alone = true;
  }

  /** The documents of each span, at most `cap` a read: one read per span, or one per span and day when the last-seen range is read by day. */
  private async read(spans: readonly ListSpan[], q: ProfileListQuery, days: readonly number[] | undefined, cap: number): Promise<SpanRead[]> {
    const filter = { segment: q.filter.segment };
    if (days === undefined) return Promise.all(spans.map((span) => this.list.span(span, filter, cap)));
    return Promise.all(spans.map(async (span) => joined(await Promise.all(days.map((day) => this.list.span(span, filter, cap, day))))));
  }

  private pageOf(walk: Walk, q: ProfileListQuery): ProfilePage {
    const { position, density } = walk;
    walk.scanned.shards = position.shard - walk.startShard;
    const done = position.shard >= LIST_SHARDS;
    return {
      profiles: walk.rows.map(rowOf),
      next: done ? null : encodeListCursor({ position, density: density ?? 0, filter: q.fingerprint }),
      partial: !done && walk.rows.length < q.limit,
      scanned: walk.scanned,
      progress: Math.min(1, position.shard / LIST_SHARDS),
    };
  }
}
