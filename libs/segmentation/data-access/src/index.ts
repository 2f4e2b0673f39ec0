export * from './definitions.repository';
export * from './profiles.store';
export * from './stored-events';
export * from './evaluator';
export * from './backfill';
export * from './plan-holder';
export * from './clustering.job';
