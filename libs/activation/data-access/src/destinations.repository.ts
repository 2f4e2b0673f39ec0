/** Destinations (`activation_destinations`): their validated configuration, read whole. */
import type { Connection, mongo } from 'mongoose';
import { openDb } from '@mosaic/shared-mongo';
import { ACTIVATION_COLLECTIONS, type DestinationDocument } from './documents';

export class DestinationsRepository {
  constructor(private readonly conn: Connection) {}

  private get collection(): mongo.Collection<DestinationDocument> {
    return openDb(this.conn).collection<DestinationDocument>(ACTIVATION_COLLECTIONS.destinations);
  }

  async findById(id: string): Promise<DestinationDocument | null> {
    return (await this.collection.findOne({ _id: id })) as DestinationDocument | null;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.findById(id)) !== null;
  }

  /** Every destination, oldest first. */
  async list(): Promise<DestinationDocument[]> {
    return (await this.collection.find({}).sort({ createdAt: 1 }).toArray()) as DestinationDocument[];
  }

  /** Every destination, in no particular order (the configuration cache). */
  async all(): Promise<DestinationDocument[]> {
    return (await this.collection.find({}).toArray()) as DestinationDocument[];
  }

  async insert(doc: DestinationDocument): Promise<void> {
    await this.collection.insertOne(doc);
  }

  async replace(doc: DestinationDocument): Promise<void> {
    await this.collection.replaceOne({ _id: doc._id }, doc);
  }

  async delete(id: string): Promise<void> {
    await this.collection.deleteOne({ _id: id });
  }
}
