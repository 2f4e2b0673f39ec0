/**
 * @mosaic/identity-application — the identity service's use cases: orchestration over the
 * domain and the repositories (docs/CONVENTIONS.md). Resolving `events.raw` batches
 * (`ResolveEventBatch` over the `BatchResolver`), the admin reads and the split, the expiry
 * sweep job.
 */
export * from './batch-resolver';
export * from './profile-writes.announcer';
export * from './resolution-observer';
export * from './resolve-event-batch.use-case';
export * from './split-operation';
export * from './split-profile.use-case';
export * from './find-live-profile.use-case';
export * from './look-up-identifier.use-case';
export * from './list-profile-audit.use-case';
export * from './normalize-identifier';
export * from './expiry-sweep.job';
