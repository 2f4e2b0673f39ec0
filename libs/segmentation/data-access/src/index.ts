export * from './definitions.repository';
