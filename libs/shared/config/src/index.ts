export * from './config';
export * from './demo-shop';
export * from './trust-proxy';
