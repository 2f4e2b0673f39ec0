/**
 * @mosaic/collector-domain — the collector's pure domain logic: parsing, validation and
 * normalisation of Segment HTTP Tracking API bodies, size limits, key escaping, write-key
 * extraction and de-duplication policy. No I/O, no framework.
 */
export * from './errors';
export * from './limits';
export * from './json';
export * from './sanitize';
export * from './time';
export * from './message';
export * from './batch';
export * from './refusals';
export * from './ingest-body';
export * from './kafka-ingest';
export * from './write-key';
export * from './dedup';
export * from './ingestor';
export * from './rate-limits';
export * from './email-token';
export * from './machine-activity';
export * from './email-events';
export * from './email-html';
export * from './import';
