export * from './mongo';
export * from './cas';
export * from './cas-guard';
export * from './metrics';
export * from './find-in';
export * from './expiry';
