// The collector service's use cases: orchestration over the domain and the repositories (docs/CONVENTIONS.md).
export * from './ingest-records.use-case';
export * from './ingest-messages.use-case';
export * from './rate-limit-gate';
export * from './import-events.use-case';
export * from './serve-tracker-script.use-case';
export * from './track-email-activity.use-case';
export * from './rewrite-email.use-case';
export * from './publish-sources.use-case';
