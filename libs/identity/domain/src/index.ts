/**
 * @mosaic/identity-domain — the identity service's pure domain (DESIGN §4, issue 4):
 * identifier extraction and normalisation, rules as configuration, the resolution and
 * merge planner with merge protection, split (unmerge), the store ports, an in-memory
 * store, and the load → plan → apply loop. No I/O, no framework. See README.md.
 */
export * from './identifier';
export * from './safe-regex';
export * from './rules';
export * from './extract';
export * from './ids';
export * from './model';
export * from './ports';
export * from './graph-view';
export * from './loader';
export * from './planner';
export * from './apply';
export * from './resolve';
export * from './split';
export * from './in-memory-store';
export * from './invariants';
