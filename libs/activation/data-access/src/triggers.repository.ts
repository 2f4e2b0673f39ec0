/** Triggers (`activation_triggers`): on entering or exiting a segment, deliver to a destination. */
import type { Connection, mongo } from 'mongoose';
import { openDb } from '@mosaic/shared-mongo';
import { ACTIVATION_COLLECTIONS, type TriggerDocument } from './documents';

export class TriggersRepository {
  constructor(private readonly conn: Connection) {}

  private get collection(): mongo.Collection<TriggerDocument> {
    return openDb(this.conn).collection<TriggerDocument>(ACTIVATION_COLLECTIONS.triggers);
  }

  /** Every trigger, oldest first. */
  async list(): Promise<TriggerDocument[]> {
    return (await this.collection.find({}).sort({ createdAt: 1 }).toArray()) as TriggerDocument[];
  }

  async listEnabled(): Promise<TriggerDocument[]> {
    return (await this.collection.find({ enabled: true }).toArray()) as TriggerDocument[];
  }

  /** How many triggers deliver to this destination. */
  async countByDestination(destinationId: string): Promise<number> {
    return this.collection.countDocuments({ destinationId });
  }

  async insert(doc: TriggerDocument): Promise<void> {
    await this.collection.insertOne(doc);
  }

  /** Whether there was such a trigger. */
  async delete(id: string): Promise<boolean> {
    const r = await this.collection.deleteOne({ _id: id });
    return r.deletedCount > 0;
  }
}
