/**
 * @mosaic/enrichment-data-access — profiles, their events and the shared state documents in
 * MongoDB (`ProfileRepository`), and this instance's copy of the category price index
 * (`PriceIndexCache`). See docs/enrichment.md.
 */
export * from './documents';
export * from './profile.repository';
export * from './price-index.cache';
