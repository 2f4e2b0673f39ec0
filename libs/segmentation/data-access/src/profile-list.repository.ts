/**
 * The contact list's reads of `segmentation_profiles` (the walk is
 * libs/segmentation/application/src/list-profiles.use-case.ts; why shards: the domain's
 * profile-list.ts), and the one-time filing of documents written before the list existed.
 */
import { Schema, type Connection, type mongo } from 'mongoose';
import { listFieldsOf, type ListSpan, type ProfileListFields, type ProfileSegmentState } from '@mosaic/segmentation-domain';
import { bulkWriteSkippingMovedOn, ensureSchemaIndexes, openDb } from '@mosaic/shared-mongo';
import { PROFILES_COLLECTION, type SegmentProfileDocument } from './segment-profiles.repository';

/** What a list row needs (and the walk: shard, last seen). */
export interface ListedProfile {
  _id: string;
  listShard: number;
  known?: boolean;
  lastSeenAt?: Date | null;
  email?: string | null;
  userId?: string | null;
  segments?: string[];
}

const LISTED_FIELDS = { _id: 1, listShard: 1, known: 1, lastSeenAt: 1, email: 1, userId: 1, segments: 1 } as const;

/**
 * A list read's time limit. Besides stopping a runaway read, it is what makes FerretDB 1.24 stop
 * PostgreSQL's query once a read's limit is reached: it cancels the query on closing the cursor
 * only when the read has a time limit; without one PostgreSQL reads and sends the rest of the
 * span, which FerretDB drops (10 of 40,000 documents: 290 ms without, 14 ms with).
 */
const LIST_READ_MAX_MS = 10_000;

/** What one read of a span returned. */
export interface SpanRead {
  /** The listed documents (those filed for the list). */
  docs: ListedProfile[];
  /** Documents the store returned (listed or not): what the read cost. */
  documents: number;
  /** The read reached its limit: the span may hold more, and `docs` is not all of it. */
  capped: boolean;
}

export const MIGRATIONS_COLLECTION = 'segmentation_migrations';
const LIST_FIELDS_MIGRATION = 'profile-list-fields-v1';

interface MigrationDocument {
  _id: string;
  doneAt: Date;
  filled: number;
}

const MigrationSchema = new Schema({ _id: String, doneAt: Date, filled: Number }, { collection: MIGRATIONS_COLLECTION, versionKey: false });

export class ProfileListRepository {
  constructor(private readonly conn: Connection) {}

  private get profiles(): mongo.Collection<SegmentProfileDocument> {
    return openDb(this.conn).collection<SegmentProfileDocument>(PROFILES_COLLECTION);
  }

  private get migrations(): mongo.Collection<MigrationDocument> {
    return openDb(this.conn).collection<MigrationDocument>(MIGRATIONS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.conn, [['SegmentationMigration', MigrationSchema]]);
  }

  /**
   * The profiles of one shard or block, by indexed equalities only (what FerretDB serves from an
   * index: the span's field, the segment, the day last seen), unsorted (the walk sorts the few
   * documents in memory), at most `limit` of them: FerretDB stops decoding there, whatever the
   * span holds (it applies a limit in memory, as it reads).
   */
  async span(span: ListSpan, filter: { segment?: string }, limit: number, seenDay?: number): Promise<SpanRead> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a list read's limit must be an integer ≥ 1 (0 reads without one), not ${limit}`);
    // 'all': the filter's own equalities narrow the read (the walk asks for it only with a segment or a day)
    const query: mongo.Filter<SegmentProfileDocument> = span.field === 'all' ? {} : { [span.field]: span.value };
    if (seenDay !== undefined) query.seenDay = seenDay;
    if (filter.segment !== undefined) query.segments = filter.segment;
    // batchSize above the limit: the first batch is the whole answer, and the store closes the cursor
    const options = { projection: LISTED_FIELDS, limit, batchSize: limit + 1, maxTimeMS: LIST_READ_MAX_MS };
    const read = (await this.profiles.find(query, options).toArray()) as ListedProfile[];
    // not listed: merged away, or not filed yet
    return { docs: read.filter((d) => typeof d.listShard === 'number'), documents: read.length, capped: read.length >= limit };
  }

  /** Whether every stored document has been filed for the list (`fillMissing` ran to its end once). */
  async filled(): Promise<boolean> {
    return (await this.migrations.findOne({ _id: LIST_FIELDS_MIGRATION })) !== null;
  }

  async markFilled(filled: number, now = new Date()): Promise<void> {
    await this.migrations.updateOne({ _id: LIST_FIELDS_MIGRATION }, { $set: { doneAt: now, filled } }, { upsert: true });
  }

  /**
   * Files the documents of a page that lack the list fields (written before they existed), from
   * their stored state. Each update is conditional on the document's `writeId`: a document
   * written since carries the fields already, and its writer's version stays.
   */
  async fillMissing(page: readonly SegmentProfileDocument[]): Promise<number> {
    const missing = page.filter((d) => d.listShard === undefined || d.known === undefined || d.seenDay === undefined);
    const ops = missing.map((d) => ({
      updateOne: {
        filter: { _id: d._id, writeId: d.writeId },
        update: { $set: listFieldsOf(JSON.parse(d.state) as ProfileSegmentState) satisfies ProfileListFields },
      },
    }));
    if (ops.length > 0) await bulkWriteSkippingMovedOn(this.profiles, ops as mongo.AnyBulkWriteOperation<SegmentProfileDocument>[]);
    return ops.length;
  }
}
