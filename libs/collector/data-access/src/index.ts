export * from './sources.repository';
export * from './write-key.cache';
export * from './source-changes';
export * from './raw-events.publisher';
export * from './bad-records.publisher';
