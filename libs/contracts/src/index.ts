export * from './topics';
export * from './messages';
export * from './codec';
export * from './source-access';
export * from './identifiers';
