/**
 * @mosaic/identity-data-access — the identity graph in MongoDB (`MongoIdentityStore`, the
 * domain's `IdentityStore`), the per-instance identifier cache and the batch resolver that
 * keeps reads off the hot path, the rules document, the expiry sweep and the split operation.
 * See docs/identity.md.
 */
export * from './documents';
export * from './mongo-identity-store';
export * from './identifier-cache';
export * from './batch-resolver';
export * from './rules.repository';
export * from './sweeper';
export * from './split-operation';
