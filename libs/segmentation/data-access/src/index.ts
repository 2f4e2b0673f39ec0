export * from './definitions.repository';
export * from './segment-profiles.repository';
export * from './segment-sizes.repository';
export * from './stored-events.repository';
export * from './backfills.repository';
export * from './clustering-runs.repository';
export * from './plan.cache';
export * from './timer-slots';
