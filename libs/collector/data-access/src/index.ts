export * from './sources.repository';
