/**
 * @mosaic/identity-data-access — the identity graph in MongoDB (`MongoIdentityRepository`, the
 * domain's `IdentityStore`), the per-instance identifier and profile caches (the latter kept honest by
 * `ProfileWritesFeed`), and the rules document. The
 * orchestration over them (batch resolution, split, expiry sweep) is in
 * `@mosaic/identity-application`. See docs/identity.md.
 */
export * from './documents';
export * from './mongo-identity.repository';
export * from './identifier.cache';
export * from './rules.repository';
export * from './profile.cache';
export * from './profile-writes.feed';
