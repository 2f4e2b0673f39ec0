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
   * The profiles of one shard or block, by equalities only (what FerretDB serves from an index:
   * the span's field, the segment, known, the day last seen); unsorted and unlimited, which the store could not
   * serve: the walk sorts the few documents in memory.
   */
  async span(span: ListSpan, filter: { segment?: string; known?: boolean }, seenDay?: number): Promise<ListedProfile[]> {
    // 'all': the filter's own equalities narrow the read (the walk asks for it only with a segment or a day)
    const query: mongo.Filter<SegmentProfileDocument> = span.field === 'all' ? {} : { [span.field]: span.value };
    if (seenDay !== undefined) query.seenDay = seenDay;
    if (filter.segment !== undefined) query.segments = filter.segment;
    if (filter.known !== undefined) query.known = filter.known;
    const docs = (await this.profiles.find(query, { projection: LISTED_FIELDS }).toArray()) as ListedProfile[];
    return docs.filter((d) => typeof d.listShard === 'number'); // not listed: merged away, or not filed yet
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
