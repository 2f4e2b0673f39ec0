// The activation service's use cases: orchestration over the domain and the repositories (docs/CONVENTIONS.md).
export * from './dispatch-deliveries.use-case';
export * from './dead-letter-delivery.use-case';
export * from './end-orphan-deliveries.use-case';
export * from './ingest-membership-changes.use-case';
export * from './store-profile-changes.use-case';
export * from './send-email.use-case';
