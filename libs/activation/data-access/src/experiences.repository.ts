/** Experiences (`activation_experiences`): the validated experience as JSON text, by id. */
import type { Connection, mongo } from 'mongoose';
import { isDuplicateKeyError, openDb } from '@mosaic/shared-mongo';
import { ACTIVATION_COLLECTIONS, type ExperienceDocument } from './documents';

export class ExperiencesRepository {
  constructor(private readonly conn: Connection) {}

  private get collection(): mongo.Collection<ExperienceDocument> {
    return openDb(this.conn).collection<ExperienceDocument>(ACTIVATION_COLLECTIONS.experiences);
  }

  async findById(id: string): Promise<ExperienceDocument | null> {
    return (await this.collection.findOne({ _id: id })) as ExperienceDocument | null;
  }

  /** Every experience, by id. */
  async list(): Promise<ExperienceDocument[]> {
    return (await this.collection.find({}).sort({ _id: 1 }).toArray()) as ExperienceDocument[];
  }

  /** The enabled experiences, by id. */
  async listEnabled(): Promise<ExperienceDocument[]> {
    return (await this.collection.find({ enabled: true }).sort({ _id: 1 }).toArray()) as ExperienceDocument[];
  }

  /** Inserts a new experience; false when one with this id exists. */
  async insert(doc: ExperienceDocument): Promise<boolean> {
    try {
      await this.collection.insertOne(doc);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async replace(doc: ExperienceDocument): Promise<void> {
    await this.collection.replaceOne({ _id: doc._id }, doc);
  }

  /** Whether there was such an experience. */
  async delete(id: string): Promise<boolean> {
    const r = await this.collection.deleteOne({ _id: id });
    return r.deletedCount > 0;
  }
}
