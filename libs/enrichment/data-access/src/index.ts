/**
 * @mosaic/enrichment-data-access — profiles and their events in MongoDB (`MongoProfileStore`),
 * the batch applier that turns `events.resolved` into profile writes and `profiles.changes`,
 * the category price index and the RFM job. See docs/enrichment.md.
 */
export * from './documents';
export * from './profile-store';
export * from './batch-applier';
export * from './jobs';
