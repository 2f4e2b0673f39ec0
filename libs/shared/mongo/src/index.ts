export * from './mongo';
export * from './cas';
export * from './metrics';
export * from './find-in';
export * from './expiry';
