export * from './config';
export * from './demo-shop';
