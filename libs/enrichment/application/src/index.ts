/**
 * @mosaic/enrichment-application — the enrichment service's use cases (applying a batch of
 * `events.resolved`, publishing `profiles.changes`) and its periodic jobs (RFM, price index
 * sync, expiry sweep): orchestration over the domain and the repositories (docs/CONVENTIONS.md).
 */
export * from './batch-applier';
export * from './apply-resolved-batch.use-case';
export * from './publish-profile-changes.use-case';
export * from './rfm.job';
export * from './price-index-sync.job';
export * from './expiry-sweep.job';
export * from './read-activity';
export type { JobSchedule } from './job-schedule';
