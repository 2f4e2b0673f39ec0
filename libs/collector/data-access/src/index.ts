export * from './sources.repository';
export * from './write-key.cache';
export * from './source-changes.feed';
export * from './raw-events.publisher';
export * from './bad-records.publisher';
