/**
 * The clustering job's lease and last result: one small document per job, kept next to the
 * backfills (`segmentation_backfills`, id `job:cluster:<job>`).
 */
import type { Connection, mongo } from 'mongoose';
import { openDb } from '@mosaic/shared-mongo';
import { BACKFILLS_COLLECTION } from './backfills.repository';

export interface ClusterSummary {
  key: string;
  index: number;
  size: number;
  description: string;
}

export interface ClusteringRunDocument {
  _id: string;
  holder: string | null;
  leaseUntil: Date;
  names?: string[];
  /** Unscaled centroids of the last run, by cluster number, as JSON text (FerretDB stores no nested arrays). */
  centroids?: string;
  at?: Date;
  summary?: ClusterSummary[];
}

export class ClusteringRunsRepository {
  constructor(private readonly conn: Connection) {}

  private get jobs(): mongo.Collection<ClusteringRunDocument> {
    return openDb(this.conn).collection<ClusteringRunDocument>(BACKFILLS_COLLECTION);
  }

  async find(id: string): Promise<ClusteringRunDocument | null> {
    return (await this.jobs.findOne({ _id: id })) as ClusteringRunDocument | null;
  }

  /** Takes the lease (the caller checked that nobody else holds it). */
  async hold(id: string, holder: string, until: Date): Promise<void> {
    await this.jobs.updateOne({ _id: id }, { $set: { holder, leaseUntil: until } }, { upsert: true });
  }

  /** Gives the lease up, if still held by `holder`. */
  async release(id: string, holder: string): Promise<void> {
    await this.jobs.updateOne({ _id: id, holder }, { $set: { holder: null, leaseUntil: new Date(0) } });
  }

  async saveResult(id: string, result: { names: string[]; centroids: number[][]; at: Date; summary: ClusterSummary[] }): Promise<void> {
    await this.jobs.updateOne(
      { _id: id },
      { $set: { names: result.names, centroids: JSON.stringify(result.centroids), at: result.at, summary: result.summary } },
    );
  }
}
