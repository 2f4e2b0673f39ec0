/**
 * Which dead letters were replayed from the console (`console_dead_letter_replays`): by whom,
 * when and how often. Kept as long as the dead-letter topic keeps its records (the topic's
 * retention), then removed by the console's hourly sweep.
 */
import type { Connection, Model } from 'mongoose';
import { ExpirySweeper, expiryHourOf, openDb } from '@mosaic/shared-mongo';
import { CONSOLE_COLLECTIONS, DeadLetterReplaySchema, type DeadLetterReplayDocument } from './documents';

export interface DeadLetterReplayMark {
  count: number;
  lastBy: string;
  lastAt: Date;
}

export class DeadLetterReplaysRepository {
  private readonly model: Model<DeadLetterReplayDocument>;
  private readonly expiry = new ExpirySweeper();

  constructor(
    private readonly conn: Connection,
    /** How long a mark is kept: the dead-letter topics' retention. */
    private readonly keepMs: number,
  ) {
    this.model =
      (conn.models['DeadLetterReplay'] as Model<DeadLetterReplayDocument> | undefined) ??
      conn.model<DeadLetterReplayDocument>('DeadLetterReplay', DeadLetterReplaySchema);
  }

  /** Counts one replay of dead letter `id` of `topic` by `username`. */
  async record(id: string, topic: string, username: string, now = new Date()): Promise<void> {
    const expiresAt = new Date(now.getTime() + this.keepMs);
    await this.model
      .updateOne(
        { _id: id },
        { $inc: { count: 1 }, $set: { topic, lastBy: username, lastAt: now, expiresAt, expiryHour: expiryHourOf(expiresAt, now) } },
        { upsert: true },
      )
      .exec();
  }

  /** The replays of one dead-letter topic's records, by dead-letter id. */
  async ofTopic(topic: string): Promise<Map<string, DeadLetterReplayMark>> {
    const docs = await this.model.find({ topic }).lean<DeadLetterReplayDocument[]>().exec();
    return new Map(docs.map((d) => [d._id, { count: d.count, lastBy: d.lastBy, lastAt: d.lastAt }]));
  }

  async deleteExpired(now = new Date()): Promise<number> {
    return this.expiry.deleteExpired(openDb(this.conn).collection(CONSOLE_COLLECTIONS.deadLetterReplays), {}, now);
  }
}
