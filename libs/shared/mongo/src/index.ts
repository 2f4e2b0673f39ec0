export * from './mongo';
export * from './cas';
