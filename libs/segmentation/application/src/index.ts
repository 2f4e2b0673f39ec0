// The segmentation service's use cases: orchestration over the domain and the repositories (docs/CONVENTIONS.md).
export * from './metrics';
export * from './segment-evaluator';
export * from './evaluate-profile-changes.use-case';
export * from './fire-due-timers.use-case';
export * from './publish-membership-changes.use-case';
export * from './validate-segment-definition.use-case';
export * from './reevaluate-segment.use-case';
export * from './delete-segment.use-case';
export * from './preview-segment.use-case';
export * from './backfill.job';
export * from './clustering.job';
export * from './size-history.use-case';
export * from './list-profiles.use-case';
export * from './list-fields.job';
