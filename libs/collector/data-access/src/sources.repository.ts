/**
 * Sources and their write keys (MongoDB collection `sources`). A write key is shown once,
 * when the source is created; only its SHA-256 digest is stored, so a database dump does
 * not leak keys that can write events.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

export interface SourceDocument {
  _id: string;
  name: string;
  writeKeyHash: string;
  /** First characters of the key, to recognise it in lists. */
  writeKeyPrefix: string;
  createdAt: Date;
  revokedAt?: Date | null;
}

export interface SourceView {
  id: string;
  name: string;
  writeKeyPrefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export const SourceSchema = new Schema<SourceDocument>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true, maxlength: 200 },
    writeKeyHash: { type: String, required: true },
    writeKeyPrefix: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
  },
  { collection: 'sources', versionKey: false },
);
SourceSchema.index({ writeKeyHash: 1 }, { unique: true });

export function hashWriteKey(writeKey: string): string {
  return createHash('sha256').update(writeKey, 'utf8').digest('hex');
}

function toView(d: SourceDocument): SourceView {
  return {
    id: d._id,
    name: d.name,
    writeKeyPrefix: d.writeKeyPrefix,
    createdAt: d.createdAt.toISOString(),
    revokedAt: d.revokedAt ? d.revokedAt.toISOString() : null,
  };
}

export class SourcesRepository {
  readonly model: Model<SourceDocument>;

  constructor(conn: Connection) {
    this.model = (conn.models['Source'] as Model<SourceDocument> | undefined) ?? conn.model<SourceDocument>('Source', SourceSchema);
  }

  async ensureIndexes(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Creates a source; the returned write key is not stored and cannot be shown again. */
  async create(name: string, now = new Date()): Promise<{ source: SourceView; writeKey: string }> {
    const writeKey = randomBytes(24).toString('base64url');
    const doc: SourceDocument = {
      _id: `src_${now.getTime().toString(36)}${randomBytes(6).toString('hex')}`,
      name,
      writeKeyHash: hashWriteKey(writeKey),
      writeKeyPrefix: writeKey.slice(0, 6),
      createdAt: now,
      revokedAt: null,
    };
    await this.model.create(doc);
    return { source: toView(doc), writeKey };
  }

  async list(): Promise<SourceView[]> {
    const docs = await this.model.find({}).sort({ createdAt: 1 }).lean<SourceDocument[]>().exec();
    return docs.map(toView);
  }

  async get(id: string): Promise<SourceView | null> {
    const doc = await this.model.findById(id).lean<SourceDocument>().exec();
    return doc ? toView(doc) : null;
  }

  /** Revokes a source; its write key is refused from then on. Returns null when unknown. */
  async revoke(id: string, now = new Date()): Promise<SourceView | null> {
    const doc = await this.model
      .findOneAndUpdate({ _id: id, revokedAt: null }, { $set: { revokedAt: now } }, { new: true })
      .lean<SourceDocument>()
      .exec();
    if (doc) return toView(doc);
    return this.get(id);
  }

  /** The active source of a write key, or null (unknown or revoked). */
  async findActiveByWriteKey(writeKey: string): Promise<SourceView | null> {
    const doc = await this.model.findOne({ writeKeyHash: hashWriteKey(writeKey) }).lean<SourceDocument>().exec();
    if (!doc || doc.revokedAt) return null;
    return toView(doc);
  }
}
