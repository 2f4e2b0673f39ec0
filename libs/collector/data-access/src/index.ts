export * from './sources.repository';
export * from './write-key.cache';
export * from './source-changes';
