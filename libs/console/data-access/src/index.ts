export * from './documents';
export * from './console-users.repository';
export * from './console-sessions.repository';
export * from './password-hasher';
export * from './services.client';
export * from './dead-letter-counts';
export * from './live-feed';
