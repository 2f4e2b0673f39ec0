/**
 * Segment definitions in MongoDB: one document per segment key (the current version, its
 * status) and one immutable document per version (the history). Every change is a
 * compare-and-set on the segment's `version` (`VersionedWriter`), so two administrators
 * editing the same segment cannot both win: the second gets a conflict.
 */
import { randomUUID } from 'node:crypto';
import { Schema, mongo, type Connection } from 'mongoose';
import type { SegmentDefinition } from '@mosaic/segmentation-domain';
import { openDb, ensureSchemaIndexes, VersionedWriter, casTicketSchema, insertAbsent, type CasMode } from '@mosaic/shared-mongo';

export const SEGMENTATION_COLLECTIONS = Object.freeze({
  segments: 'segmentation_segments',
  versions: 'segmentation_segment_versions',
  tickets: 'segmentation_cas_tickets',
});

export type SegmentStatus = 'active' | 'disabled';

export interface SegmentDocument {
  /** The segment key. */
  _id: string;
  version: number;
  status: SegmentStatus;
  /** The definition as validated (JSON text: conditions nest deeply and are read whole). */
  json: string;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
  writeId: string;
}

export interface SegmentVersionDocument {
  /** `<key>|<version>`. */
  _id: string;
  key: string;
  version: number;
  json: string;
  at: Date;
  by: string;
}

export interface StoredSegment {
  key: string;
  version: number;
  status: SegmentStatus;
  definition: SegmentDefinition;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

export const SegmentSchema = new Schema(
  {
    _id: { type: String, required: true },
    version: { type: Number, required: true },
    status: { type: String, enum: ['active', 'disabled'], required: true },
    json: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
    writeId: { type: String, required: true },
  },
  { collection: SEGMENTATION_COLLECTIONS.segments, versionKey: false },
);

export const SegmentVersionSchema = new Schema(
  {
    _id: { type: String, required: true },
    key: { type: String, required: true },
    version: { type: Number, required: true },
    json: { type: String, required: true },
    at: { type: Date, required: true },
    by: { type: String, required: true },
  },
  { collection: SEGMENTATION_COLLECTIONS.versions, versionKey: false },
);
SegmentVersionSchema.index({ key: 1, version: -1 });

const SCHEMAS: readonly (readonly [string, Schema])[] = [
  ['SegmentationSegment', SegmentSchema],
  ['SegmentationSegmentVersion', SegmentVersionSchema],
  ['SegmentationCasTicket', casTicketSchema(SEGMENTATION_COLLECTIONS.tickets)],
];

export type WriteOutcome = { ok: true; segment: StoredSegment } | { ok: false; reason: 'exists' | 'not_found' | 'conflict' };

function toStored(d: SegmentDocument): StoredSegment {
  return {
    key: d._id,
    version: d.version,
    status: d.status,
    definition: JSON.parse(d.json) as SegmentDefinition,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    updatedBy: d.updatedBy,
  };
}

export class SegmentDefinitionsRepository {
  readonly writer: VersionedWriter;

  constructor(
    private readonly conn: Connection,
    options: { cas?: CasMode; instanceId?: string } = {},
  ) {
    this.writer = new VersionedWriter(conn, {
      mode: options.cas ?? 'ticket',
      ticketCollection: SEGMENTATION_COLLECTIONS.tickets,
      instanceId: options.instanceId ?? 'segmentation',
    });
  }

  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.conn, SCHEMAS);
  }

  private get db(): mongo.Db {
    return openDb(this.conn);
  }

  get segments(): mongo.Collection<SegmentDocument> {
    return this.db.collection<SegmentDocument>(SEGMENTATION_COLLECTIONS.segments);
  }

  get versions(): mongo.Collection<SegmentVersionDocument> {
    return this.db.collection<SegmentVersionDocument>(SEGMENTATION_COLLECTIONS.versions);
  }

  async get(key: string): Promise<StoredSegment | null> {
    const d = (await this.segments.findOne({ _id: key })) as SegmentDocument | null;
    return d ? toStored(d) : null;
  }

  /** Every segment, by key (definitions are few: hundreds at most). */
  async list(): Promise<StoredSegment[]> {
    return ((await this.segments.find({}).sort({ _id: 1 }).toArray()) as SegmentDocument[]).map(toStored);
  }

  /** Version history of a segment, newest first. */
  async history(key: string, limit = 100): Promise<{ version: number; at: string; by: string; definition: SegmentDefinition }[]> {
    const docs = (await this.versions.find({ key }).sort({ version: -1 }).limit(limit).toArray()) as SegmentVersionDocument[];
    return docs.map((d) => ({ version: d.version, at: d.at.toISOString(), by: d.by, definition: JSON.parse(d.json) as SegmentDefinition }));
  }

  /** Creates the segment (`exists` when the key is taken, even by a disabled segment). A key deleted before continues its version numbers. */
  async create(definition: SegmentDefinition, by: string): Promise<WriteOutcome> {
    const now = new Date();
    const [last] = (await this.versions.find({ key: definition.key }).sort({ version: -1 }).limit(1).toArray()) as SegmentVersionDocument[];
    const doc: SegmentDocument = {
      _id: definition.key,
      version: (last?.version ?? 0) + 1,
      status: 'active',
      json: JSON.stringify(definition),
      createdAt: now,
      updatedAt: now,
      updatedBy: by,
      writeId: randomUUID(),
    };
    const r = await this.writer.writeMany(this.segments, [{ expected: null, doc }]);
    if (r.get(doc._id) !== 'applied') return { ok: false, reason: 'exists' };
    await this.recordVersion(doc);
    return { ok: true, segment: toStored(doc) };
  }

  /**
   * A new version of the definition and/or status, if the segment is at `expectedVersion`
   * (when given; otherwise at whatever version it is now).
   */
  async update(key: string, change: { definition?: SegmentDefinition; status?: SegmentStatus }, by: string, expectedVersion?: number): Promise<WriteOutcome> {
    const current = (await this.segments.findOne({ _id: key })) as SegmentDocument | null;
    if (!current) return { ok: false, reason: 'not_found' };
    if (expectedVersion !== undefined && current.version !== expectedVersion) return { ok: false, reason: 'conflict' };
    const doc: SegmentDocument = {
      ...current,
      version: current.version + 1,
      status: change.status ?? current.status,
      json: change.definition ? JSON.stringify(change.definition) : current.json,
      updatedAt: new Date(),
      updatedBy: by,
      writeId: randomUUID(),
    };
    const r = await this.writer.writeMany(this.segments, [{ expected: current.version, doc }]);
    if (r.get(key) !== 'applied') return { ok: false, reason: 'conflict' };
    await this.recordVersion(doc);
    return { ok: true, segment: toStored(doc) };
  }

  /** Deletes the segment (its version history stays, for the audit). */
  async delete(key: string): Promise<boolean> {
    const r = await this.segments.deleteOne({ _id: key });
    return (r.deletedCount ?? 0) > 0;
  }

  private async recordVersion(doc: SegmentDocument): Promise<void> {
    const v: SegmentVersionDocument = {
      _id: `${doc._id}|${doc.version}`,
      key: doc._id,
      version: doc.version,
      json: doc.json,
      at: doc.updatedAt,
      by: doc.updatedBy,
    };
    await insertAbsent(this.versions, [v]);
  }
}
