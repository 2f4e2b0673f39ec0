export * from './documents';
export * from './stores';
export * from './dispatcher';
export * from './ingest';
export * from './email';
export * from './outbound';
export * from './decisions';
export * from './sources-feed';
