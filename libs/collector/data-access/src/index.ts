export * from './sources.repository';
export * from './write-key.cache';
