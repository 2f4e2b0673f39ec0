export * from './mongo';
export * from './cas';
export * from './metrics';
