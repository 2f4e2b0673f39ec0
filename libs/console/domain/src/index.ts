export * from './roles';
export * from './access-policy';
export * from './proxy-path';
export * from './csrf';
export * from './user-input';
export * from './session';
export * from './live-stats';
export * from './dead-letters';
