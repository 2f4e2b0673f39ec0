// Helpers for integration tests (*.int-spec.ts); see test-infra.ts.
export * from './test-infra';
export { removeTestResources, TEST_DB_PREFIX, TEST_TOPIC_PREFIX } from './cleanup';
export * from './kafka-tap';
export * from './service-harness';
export * from './query-plans';
