export * from './tokens';
export * from './errors';
export * from './http-error.filter';
export * from './admin-auth.guard';
export * from './health.controller';
export * from './readiness';
export * from './nest-logger';
export * from './bootstrap';
