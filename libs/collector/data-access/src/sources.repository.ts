/**
 * Sources and their access settings (MongoDB collection `sources`). The write key and the
 * server key are shown once, when issued; only their SHA-256 digests are stored, so a database
 * dump does not leak keys that write events or read profiles. The identity-verification secret
 * is stored as issued: verifying an HMAC needs the key itself.
 *
 * Documents written before access settings existed lack them: no allowed origins, no server
 * key, no identity secret, `updatedAt` = `createdAt`.
 */
import { randomBytes } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { keyDigest, type SourceState } from '@mosaic/contracts';

export interface SourceDocument {
  _id: string;
  name: string;
  writeKeyHash: string;
  /** First characters of the key, to recognise it in lists. */
  writeKeyPrefix: string;
  serverKeyHash?: string;
  serverKeyPrefix?: string;
  identitySecret?: string;
  allowedOrigins?: string[];
  createdAt: Date;
  updatedAt?: Date;
  revokedAt?: Date | null;
}

export interface SourceView {
  id: string;
  name: string;
  writeKeyPrefix: string;
  /** First characters of the server key; null before one is issued. */
  serverKeyPrefix: string | null;
  /** Whether `userHash` can be verified (the secret itself is shown only when issued). */
  identityVerification: boolean;
  allowedOrigins: string[];
  createdAt: string;
  updatedAt: string;
  revokedAt: string | null;
}

/** A new source's keys and secret: each shown once. */
export interface SourceCredentials {
  writeKey: string;
  serverKey: string;
  identitySecret: string;
}

export const SourceSchema = new Schema<SourceDocument>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true, maxlength: 200 },
    writeKeyHash: { type: String, required: true },
    writeKeyPrefix: { type: String, required: true },
    serverKeyHash: { type: String },
    serverKeyPrefix: { type: String },
    identitySecret: { type: String },
    allowedOrigins: { type: [String], default: undefined },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date },
    revokedAt: { type: Date, default: null },
  },
  { collection: 'sources', versionKey: false },
);
SourceSchema.index({ writeKeyHash: 1 }, { unique: true });

/** The stored digest of a write key. */
export const hashWriteKey = keyDigest;

const newServerKey = (): string => `sk_${randomBytes(24).toString('base64url')}`;
const newIdentitySecret = (): string => randomBytes(32).toString('base64url');

function toView(d: SourceDocument): SourceView {
  return {
    id: d._id,
    name: d.name,
    writeKeyPrefix: d.writeKeyPrefix,
    serverKeyPrefix: d.serverKeyPrefix ?? null,
    identityVerification: !!d.identitySecret,
    allowedOrigins: d.allowedOrigins ?? [],
    createdAt: d.createdAt.toISOString(),
    updatedAt: (d.updatedAt ?? d.createdAt).toISOString(),
    revokedAt: d.revokedAt ? d.revokedAt.toISOString() : null,
  };
}

/** What `mosaic.sources` carries about a source. */
export function toSourceState(d: SourceDocument): SourceState {
  return {
    id: d._id,
    name: d.name,
    writeKeyHash: d.writeKeyHash,
    ...(d.serverKeyHash ? { serverKeyHash: d.serverKeyHash } : {}),
    ...(d.identitySecret ? { identitySecret: d.identitySecret } : {}),
    allowedOrigins: d.allowedOrigins ?? [],
    revokedAt: d.revokedAt ? d.revokedAt.toISOString() : null,
    updatedAt: (d.updatedAt ?? d.createdAt).toISOString(),
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

  /** Creates a source; the returned keys and secret are shown once (keys are not stored). */
  async create(name: string, allowedOrigins: string[] = [], now = new Date()): Promise<{ source: SourceView; credentials: SourceCredentials }> {
    const writeKey = randomBytes(24).toString('base64url');
    const serverKey = newServerKey();
    const identitySecret = newIdentitySecret();
    const doc: SourceDocument = {
      _id: `src_${now.getTime().toString(36)}${randomBytes(6).toString('hex')}`,
      name,
      writeKeyHash: hashWriteKey(writeKey),
      writeKeyPrefix: writeKey.slice(0, 6),
      serverKeyHash: keyDigest(serverKey),
      serverKeyPrefix: serverKey.slice(0, 7),
      identitySecret,
      allowedOrigins,
      createdAt: now,
      updatedAt: now,
      revokedAt: null,
    };
    await this.model.create(doc);
    return { source: toView(doc), credentials: { writeKey, serverKey, identitySecret } };
  }

  async list(): Promise<SourceView[]> {
    return (await this.documents()).map(toView);
  }

  /** Every stored source, oldest first. */
  async documents(): Promise<SourceDocument[]> {
    return this.model.find({}).sort({ createdAt: 1 }).lean<SourceDocument[]>().exec();
  }

  async document(id: string): Promise<SourceDocument | null> {
    return this.model.findById(id).lean<SourceDocument>().exec();
  }

  async get(id: string): Promise<SourceView | null> {
    const doc = await this.document(id);
    return doc ? toView(doc) : null;
  }

  /** Replaces the allowed origins. Null when unknown. */
  async setAllowedOrigins(id: string, allowedOrigins: string[], now = new Date()): Promise<SourceView | null> {
    return this.update(id, { allowedOrigins, updatedAt: now });
  }

  /** Issues a new identity-verification secret (hashes made with the old one stop verifying). */
  async rotateIdentitySecret(id: string, now = new Date()): Promise<{ source: SourceView; identitySecret: string } | null> {
    const identitySecret = newIdentitySecret();
    const source = await this.update(id, { identitySecret, updatedAt: now });
    return source ? { source, identitySecret } : null;
  }

  /** Issues a new server key (the old one is refused from then on). */
  async rotateServerKey(id: string, now = new Date()): Promise<{ source: SourceView; serverKey: string } | null> {
    const serverKey = newServerKey();
    const source = await this.update(id, { serverKeyHash: keyDigest(serverKey), serverKeyPrefix: serverKey.slice(0, 7), updatedAt: now });
    return source ? { source, serverKey } : null;
  }

  /** Revokes a source; its keys are refused from then on. Returns null when unknown. */
  async revoke(id: string, now = new Date()): Promise<SourceView | null> {
    const doc = await this.model
      .findOneAndUpdate({ _id: id, revokedAt: null }, { $set: { revokedAt: now, updatedAt: now } }, { new: true })
      .lean<SourceDocument>()
      .exec();
    if (doc) return toView(doc);
    return this.get(id);
  }

  /** The active source of a write key, or null (unknown or revoked). */
  async findActiveByWriteKey(writeKey: string): Promise<SourceView | null> {
    const doc = await this.model
      .findOne({ writeKeyHash: hashWriteKey(writeKey) })
      .lean<SourceDocument>()
      .exec();
    if (!doc || doc.revokedAt) return null;
    return toView(doc);
  }

  private async update(id: string, set: Partial<SourceDocument>): Promise<SourceView | null> {
    const doc = await this.model.findOneAndUpdate({ _id: id }, { $set: set }, { new: true }).lean<SourceDocument>().exec();
    return doc ? toView(doc) : null;
  }
}
